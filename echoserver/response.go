package echoserver

import (
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Identity names the backend that answers: the Kubernetes objects it stands
// for. Every field is copied as is into each [Response].
type Identity struct {
	// Namespace is the namespace of the backend (echo-basic env NAMESPACE).
	Namespace string
	// Ingress is the Ingress the backend is meant to be reached through
	// (env INGRESS_NAME).
	Ingress string
	// Service is the Service in front of the backend (env SERVICE_NAME).
	Service string
	// Pod is the name of the backend pod (env POD_NAME).
	Pod string
	// ServicePort is the Service port, by number or name (env SERVICE_PORT).
	ServicePort string
}

// Response is the JSON body of every echo answer. The suites decode answers
// with this type.
type Response struct {
	// Path is the request URI including the query, as received.
	Path string `json:"path"`
	// Host is the request's Host (HTTP/1.1 Host header, HTTP/2 :authority).
	Host string `json:"host"`
	// Method is the request method.
	Method string `json:"method"`
	// Proto is the request protocol, e.g. "HTTP/1.1" or "HTTP/2.0".
	Proto string `json:"proto"`
	// Headers are the request headers (Host excluded, as in net/http).
	Headers map[string][]string `json:"headers"`

	// Namespace, Ingress, Service and Pod come from the server's Identity.
	Namespace string `json:"namespace"`
	Ingress   string `json:"ingress"`
	Service   string `json:"service"`
	Pod       string `json:"pod"`

	// HTTPPort is the local port the request arrived on, e.g. "8080"; empty
	// when the handler is embedded in a server that does not record it.
	HTTPPort string `json:"httpPort"`
	// ServicePort comes from the server's Identity.
	ServicePort string `json:"servicePort"`
	// ClientAddress is the peer address (host:port) of the connection.
	ClientAddress string `json:"clientAddress"`
	// Query is the parsed query; absent when the request has none.
	Query map[string][]string `json:"query,omitempty"`
	// BodyLength is the number of request body bytes read.
	BodyLength int64 `json:"bodyLength"`

	// TLS describes the TLS connection; absent on plain HTTP.
	TLS *TLSInfo `json:"tls,omitempty"`
}

// TLSInfo describes the TLS connection a request arrived on, with echo-basic's
// field names and values.
type TLSInfo struct {
	// Version is "TLSv1.3", "TLSv1.2", "TLSv1.1" or "TLSv1.0".
	Version string `json:"version"`
	// PeerCertificates are the client certificates in PEM; the server does not
	// ask for any, so this is normally absent.
	PeerCertificates []string `json:"peerCertificates,omitempty"`
	// ServerName is the SNI sent by the client; empty when none was sent.
	ServerName string `json:"serverName"`
	// NegotiatedProtocol is the ALPN result, e.g. "h2" or "http/1.1".
	NegotiatedProtocol string `json:"negotiatedProtocol,omitempty"`
	// CipherSuite is the name of the cipher suite, e.g.
	// "TLS_AES_128_GCM_SHA256".
	CipherSuite string `json:"cipherSuite"`
}

// Chunk is one line of a streamed answer (query stream=N): the index of the
// chunk (0-based), the number of chunks, when the server wrote it, and the
// same fields as [Response]. Comparing SentAt with the arrival time shows
// whether a proxy held chunks back.
type Chunk struct {
	Index  int       `json:"chunk"`
	Count  int       `json:"chunks"`
	SentAt time.Time `json:"sentAt"`
	Response
}

// ErrorResponse is the JSON body of a 400 answer to an invalid control.
type ErrorResponse struct {
	Error string `json:"error"`
}

// newResponse describes r. query is r's parsed query (nil when it has none).
func newResponse(r *http.Request, id *Identity, query url.Values, bodyLength int64) Response {
	resp := Response{
		Path:          r.RequestURI,
		Host:          r.Host,
		Method:        r.Method,
		Proto:         r.Proto,
		Headers:       r.Header,
		Namespace:     id.Namespace,
		Ingress:       id.Ingress,
		Service:       id.Service,
		Pod:           id.Pod,
		HTTPPort:      localPort(r),
		ServicePort:   id.ServicePort,
		ClientAddress: r.RemoteAddr,
		Query:         query,
		BodyLength:    bodyLength,
		TLS:           tlsInfo(r.TLS),
	}
	if resp.Path == "" { // a request built in-process, not read from a connection
		resp.Path = r.URL.RequestURI()
	}
	return resp
}

// localPort returns the local port of the connection r arrived on.
func localPort(r *http.Request) string {
	switch a := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return strconv.Itoa(a.Port)
	case net.Addr:
		if _, port, err := net.SplitHostPort(a.String()); err == nil {
			return port
		}
	}
	return ""
}

func tlsInfo(cs *tls.ConnectionState) *TLSInfo {
	if cs == nil {
		return nil
	}
	info := &TLSInfo{
		Version:            tlsVersionName(cs.Version),
		ServerName:         cs.ServerName,
		NegotiatedProtocol: cs.NegotiatedProtocol,
		CipherSuite:        tls.CipherSuiteName(cs.CipherSuite),
	}
	for _, c := range cs.PeerCertificates {
		info.PeerCertificates = append(info.PeerCertificates,
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	return info
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1.0"
	}
	return tls.VersionName(v)
}
