package translate

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/ingresslab/ingresslab/controller/routing"
)

var update = flag.Bool("update", false, "rewrite fixtures/translate/*.want.yaml")

const fixtureDir = "../../fixtures/translate"

// fixture is one golden case's input: the snapshot, options and requests.
type fixture struct {
	snap     *Snapshot
	opts     Options
	requests [][2]string // host, path
}

// testOptions are the options of every case unless its "# options:" line
// overrides fields.
func testOptions() Options {
	o := DefaultOptions()
	o.StatusAddresses = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
	o.Generation = 1
	return o
}

// loadFixture decodes a multi-document manifest file. Comment lines
// "# options: {json}" set Options fields; "# request: HOST PATH" adds a
// request whose match goes into the golden output (HOST "-" is empty).
// Secret stringData is moved into data, as the API server does, with
// "GENERATED:host1,host2" values replaced by a test certificate (tls.crt) or
// its private key (tls.key).
func loadFixture(t testing.TB, data []byte) *fixture {
	t.Helper()
	f := &fixture{snap: &Snapshot{}, opts: testOptions()}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "# options:"); ok {
			if err := json.Unmarshal([]byte(v), &f.opts); err != nil {
				t.Fatalf("options line %q: %v", line, err)
			}
		}
		if v, ok := strings.CutPrefix(line, "# request:"); ok {
			host, path, _ := strings.Cut(strings.TrimSpace(v), " ")
			if host == "-" {
				host = ""
			}
			f.requests = append(f.requests, [2]string{host, path})
		}
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	decoder := scheme.Codecs.UniversalDeserializer()
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading documents: %v", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("decoding %q: %v", doc, err)
		}
		switch o := obj.(type) {
		case *networkingv1.Ingress:
			f.snap.Ingresses = append(f.snap.Ingresses, o)
		case *networkingv1.IngressClass:
			f.snap.IngressClasses = append(f.snap.IngressClasses, o)
		case *corev1.Service:
			f.snap.Services = append(f.snap.Services, o)
		case *discoveryv1.EndpointSlice:
			f.snap.EndpointSlices = append(f.snap.EndpointSlices, o)
		case *corev1.Secret:
			materializeSecret(t, o)
			f.snap.Secrets = append(f.snap.Secrets, o)
		case *corev1.ConfigMap:
			f.snap.ConfigMaps = append(f.snap.ConfigMaps, o)
		default:
			t.Fatalf("unsupported object %T", obj)
		}
	}
	return f
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range strings.Lines(string(doc)) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out = append(out, line...)
		}
	}
	return out
}

func materializeSecret(t testing.TB, s *corev1.Secret) {
	for k, v := range s.StringData {
		if s.Data == nil {
			s.Data = make(map[string][]byte)
		}
		b := []byte(v)
		if hosts, ok := strings.CutPrefix(v, "GENERATED:"); ok {
			crt, key := testCertPEM(t, hosts)
			switch k {
			case corev1.TLSCertKey, corev1.ServiceAccountRootCAKey: // tls.crt; ca.crt (a CA for auth-tls)
				b = crt
			case corev1.TLSPrivateKeyKey:
				b = key
			default:
				t.Fatalf("secret %s/%s: GENERATED only for %s, %s and ca.crt", s.Namespace, s.Name, corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
			}
		}
		s.Data[k] = b
	}
	s.StringData = nil
}

var (
	certMu    sync.Mutex
	certCache = map[string][2][]byte{}
)

// testCertPEM returns a self-signed certificate and its key for the
// comma-separated DNS names, generated once per process. Subject, serial
// (from the names) and validity are fixed; only the key and the signature
// (hence the fingerprint) differ between runs.
func testCertPEM(t testing.TB, hosts string) (crt, key []byte) {
	certMu.Lock()
	defer certMu.Unlock()
	if p, ok := certCache[hosts]; ok {
		return p[0], p[1]
	}
	names := strings.Split(hosts, ",")
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(hosts))
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetUint64(binary.BigEndian.Uint64(sum[:8]) >> 1),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"ingresslab test"}},
		DNSNames:     names,
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	crt = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	key = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	certCache[hosts] = [2][]byte{crt, key}
	return crt, key
}

// golden is the rendered Result of a case.
type golden struct {
	Table              routing.Dump             `json:"table"`
	DefaultCertificate *routing.CertificateDump `json:"defaultCertificate,omitempty"`
	Owned              []routing.ObjectRef      `json:"owned,omitempty"`
	Statuses           []StatusUpdate           `json:"statuses,omitempty"`
	Warnings           []Warning                `json:"warnings,omitempty"`
	Matches            []goldenMatch            `json:"matches,omitempty"`
}

type goldenMatch struct {
	Request  string `json:"request"`
	Route    string `json:"route"`
	Redirect bool   `json:"redirect,omitempty"`
}

// describeRoute is a one-line form of a matched route.
func describeRoute(r *routing.Route) string {
	if r == nil {
		return "<none>"
	}
	what := "default"
	if r.Path != "" {
		host := r.Host
		if host == "" {
			host = "<any>"
		}
		what = host + " " + r.PathType.String() + " " + r.Path
	}
	owner := r.Ingress.String()
	if owner == "" {
		owner = "(configured default backend)"
	}
	s := owner + ": " + what + " -> " + r.Backend.Key
	if r.Backend.Unavailable != "" {
		s += " (unavailable)"
	}
	return s
}

func render(t testing.TB, f *fixture, res Result) []byte {
	t.Helper()
	// Owned is in translation order; the files list it by name.
	var owned []routing.ObjectRef
	for _, ing := range res.Owned {
		owned = append(owned, refOf(&ing.ObjectMeta))
	}
	slices.SortFunc(owned, compareRef)
	g := golden{Table: res.Table.Dump(), Owned: owned, Statuses: res.Statuses, Warnings: res.Warnings}
	for i := range g.Table.Hosts {
		if c := g.Table.Hosts[i].Certificate; c != nil {
			c.SHA256 = "" // the test key is random; subject, names and serial are fixed
		}
	}
	if g.DefaultCertificate = routing.DumpCertificate(res.DefaultCertificate); g.DefaultCertificate != nil {
		g.DefaultCertificate.SHA256 = ""
	}
	for _, rq := range f.requests {
		m := res.Table.Match(rq[0], rq[1])
		g.Matches = append(g.Matches, goldenMatch{Request: rq[0] + " " + rq[1], Route: describeRoute(m.Route), Redirect: m.HTTPSRedirect})
	}
	out, err := orderedYAML(g)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// orderedYAML renders v as YAML through its JSON form, keeping the struct
// field order (sigs.k8s.io/yaml would sort keys).
func orderedYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	node, err := jsonNode(dec)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	scalar := func(tag, value string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, scalar("!!str", k.(string)))
			}
			v, err := jsonNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		_, err := dec.Token() // closing delimiter
		return n, err
	case string:
		return scalar("!!str", t), nil
	case json.Number:
		if strings.ContainsAny(t.String(), ".eE") {
			return scalar("!!float", t.String()), nil
		}
		return scalar("!!int", t.String()), nil
	case bool:
		return scalar("!!bool", strconv.FormatBool(t)), nil
	case nil:
		return scalar("!!null", "null"), nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func TestGolden(t *testing.T) {
	ins, err := filepath.Glob(filepath.Join(fixtureDir, "*.in.yaml"))
	if err != nil || len(ins) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			f := loadFixture(t, data)
			res := Translate(f.snap, f.opts)
			got := render(t, f, res)
			// Determinism: a second run renders identically.
			if again := render(t, f, Translate(f.snap, f.opts)); !bytes.Equal(got, again) {
				t.Fatalf("translation is not deterministic:\n%s\n---\n%s", got, again)
			}
			// A snapshot that keeps the UniqueIngresses promise (as the
			// Source's do) translates the same with it.
			if uniqueRefs(f.snap.Ingresses) {
				u := *f.snap
				u.UniqueIngresses = true
				if withPromise := render(t, f, Translate(&u, f.opts)); !bytes.Equal(got, withPromise) {
					t.Fatalf("UniqueIngresses changed the translation:\n%s", diff(string(got), string(withPromise)))
				}
			}
			wantFile := filepath.Join(fixtureDir, name+".want.yaml")
			if *update {
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the translation (run with -update after checking):\n%s", wantFile, diff(string(want), string(got)))
			}
		})
	}
}

// uniqueRefs reports whether no two Ingresses share a namespace/name.
func uniqueRefs(ings []*networkingv1.Ingress) bool {
	seen := map[routing.ObjectRef]bool{}
	for _, ing := range ings {
		if ing == nil {
			continue
		}
		ref := refOf(&ing.ObjectMeta)
		if seen[ref] {
			return false
		}
		seen[ref] = true
	}
	return true
}

// diff is a small line diff for failure messages.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n-%s\n+%s\n", i+1, w, g)
		}
	}
	return b.String()
}
