# kind developer loop and CI targets; the main Makefile includes this file
# (`include kind/kind.mk`) and provides BIN, GO, PROVIDER and REPORT_DIR.
# kind needs a Docker engine; images are built in pure Go (no docker build).

KIND_CLUSTER ?= ingresslab
KIND_HTTP_PORT ?= 80
KIND_HTTPS_PORT ?= 443
IMAGE_DIR ?= $(REPORT_DIR)/images
KIND_IMAGES := $(IMAGE_DIR)/ingresslab-controller.tar,$(IMAGE_DIR)/ingresslab-echo.tar

.PHONY: kind-images kind-up kind-reload kind-down

kind-images: build ## build the controller and echo images as OCI archives in $(IMAGE_DIR) (no Docker needed)
	$(BIN)/ingresslab kind images --out $(IMAGE_DIR)

kind-up: kind-images ## create (or reuse) kind cluster $(KIND_CLUSTER), load the images, install the reference controller
	$(BIN)/ingresslab cluster up --provider kind --name $(KIND_CLUSTER) --reuse --keep --install-reference \
		--images $(KIND_IMAGES) --http-port $(KIND_HTTP_PORT) --https-port $(KIND_HTTPS_PORT)

kind-reload: build ## rebuild the images, load them into the kind cluster, restart the reference controller
	$(BIN)/ingresslab kind reload --name $(KIND_CLUSTER) --out $(IMAGE_DIR)

kind-down: build ## delete kind cluster $(KIND_CLUSTER)
	$(BIN)/ingresslab cluster down --provider kind --name $(KIND_CLUSTER)

# `make e2e PROVIDER=kind` needs the image archives first.
ifeq ($(PROVIDER),kind)
e2e: kind-images
endif
