# syntax=docker/dockerfile:1
# For users who prefer `docker build`; ingresslab itself builds the same
# images without Docker (`ingresslab kind images`, package kind/image).
#   docker build --target controller -t ghcr.io/ingresslab/ingresslab-controller:dev .
#   docker build --target echo -t ghcr.io/ingresslab/ingresslab-echo:dev .
ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/ingresslab/ingresslab/version.Version=${VERSION}" \
      -o /out/ ./cmd/ingresslab-controller ./cmd/ingresslab-echo

FROM gcr.io/distroless/static-debian12:nonroot AS controller
LABEL org.opencontainers.image.source="https://github.com/ingresslab/ingresslab" \
      org.opencontainers.image.title="ingresslab-controller"
COPY --from=build /out/ingresslab-controller /usr/local/bin/ingresslab-controller
USER 65532:65532
EXPOSE 8080 8443 10254
ENTRYPOINT ["/usr/local/bin/ingresslab-controller"]

FROM gcr.io/distroless/static-debian12:nonroot AS echo
LABEL org.opencontainers.image.source="https://github.com/ingresslab/ingresslab" \
      org.opencontainers.image.title="ingresslab-echo"
COPY --from=build /out/ingresslab-echo /usr/local/bin/ingresslab-echo
USER 65532:65532
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/ingresslab-echo"]
