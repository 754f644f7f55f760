// Package integration_test runs the reference controller, assembled by
// controller/app exactly as the binary does, against a real kube-apiserver
// (cluster/local) with real echo backends, and checks its behaviour over
// real HTTP and TLS connections.
//
// One local cluster and one "main" controller serve the whole package
// (TestMain); tests that need other flags start extra controllers. Tests run
// one after the other: some change cluster-wide state (the default
// IngressClass, the table-wide default backend), and each deletes its
// Ingresses when it ends. Each test works in its own namespace, deleted at
// the end; TestMain checks that every test namespace is gone before it
// stops the cluster.
//
// Without the control-plane binaries (`make tools`) every test skips with a
// message saying so, except under INGRESSLAB_REQUIRE_TOOLS=1 (`make test`),
// where the package fails (internal/testtools).
package integration_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/controller/app"
	"github.com/ingresslab/ingresslab/controller/translate"
	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/internal/testtools"
)

// The main controller's identity.
const (
	mainClass        = "ingresslab" // IngressClass name and legacy annotation value
	mainController   = translate.DefaultControllerName
	mainStatusIP     = "127.0.1.10"
	systemNamespace  = "ingresslab-system"
	defaultCertName  = "default-cert"
	testLabel        = "ingresslab.dev/integration-test"
	namespaceTimeout = 120 * time.Second
)

var (
	// skipReason is set when the package cannot run.
	skipReason string
	cl         *local.Provider
	kube       kubernetes.Interface
	mainCtrl   *app.Controller
	// mainTarget addresses the main controller.
	mainTarget target
	// defaultCA signed the main controller's default certificate, whose
	// leaf is defaultLeaf.
	defaultCA   *testCA
	defaultLeaf []byte
	// logFile receives every controller's logs.
	logFile *os.File
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	defer func() {
		if binDir != "" {
			os.RemoveAll(binDir)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if testing.Short() {
		skipReason = "-short: the integration tests start a local cluster"
		return m.Run()
	}
	_, missing := local.FindBinaries(ctx, local.Binaries{})
	reason, err := testtools.MainSkip(missing)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller/integration:", err)
		return 1
	}
	if reason != "" {
		skipReason = reason
		fmt.Fprintln(os.Stderr, "controller/integration: skipping:", skipReason)
		return m.Run()
	}

	logFile, err = os.CreateTemp("", "ingresslab-integration-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller/integration:", err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))
	klog.SetSlogLogger(logger)
	slog.SetDefault(logger)

	code := run(ctx, m, logger)
	logFile.Close()
	if code == 0 {
		os.Remove(logFile.Name())
	} else {
		fmt.Fprintln(os.Stderr, "controller/integration: controller logs kept in", logFile.Name())
	}
	return code
}

func run(ctx context.Context, m *testing.M, logger *slog.Logger) int {
	var err error
	cl, err = local.Start(ctx, local.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller/integration: start local cluster:", err)
		return 1
	}
	defer func() {
		if err := cl.Destroy(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "controller/integration:", err)
		}
	}()
	kube = cl.Client()
	if err := setup(ctx, logger); err != nil {
		fmt.Fprintln(os.Stderr, "controller/integration: setup:", err)
		if mainCtrl != nil {
			_ = mainCtrl.Shutdown(context.Background())
		}
		return 1
	}
	code := m.Run()
	if err := mainCtrl.Shutdown(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "controller/integration: shutdown main controller:", err)
		code = 1
	}
	if err := waitNamespacesGone(); err != nil {
		fmt.Fprintln(os.Stderr, "controller/integration: cleanup:", err)
		code = 1
	}
	return code
}

// setup creates the main IngressClass and default certificate and starts
// the main controller.
func setup(ctx context.Context, logger *slog.Logger) error {
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := createClass(ctx, mainClass, mainController, false); err != nil {
		return err
	}
	var err error
	if defaultCA, err = newCA("ingresslab integration CA"); err != nil {
		return err
	}
	crt, key, leaf, err := defaultCA.issue("ingresslab default", "default.invalid")
	if err != nil {
		return err
	}
	defaultLeaf = leaf
	if _, err := kube.CoreV1().Secrets(systemNamespace).Create(ctx, tlsSecret(systemNamespace, defaultCertName, crt, key), metav1.CreateOptions{}); err != nil {
		return err
	}
	mainCtrl, err = app.Start(ctx, app.Options{
		RESTConfig:              cl.RESTConfig(),
		ControllerName:          mainController,
		IngressClass:            mainClass,
		HTTPAddr:                "127.0.0.1:0",
		HTTPSAddr:               "127.0.0.1:0",
		AdminAddr:               "127.0.0.1:0",
		DefaultCertificate:      systemNamespace + "/" + defaultCertName,
		PublishStatusAddress:    mainStatusIP,
		LeaderElect:             ptrTo(true),
		LeaderElectionNamespace: systemNamespace,
		Logger:                  logger.With(slog.String("controller", "main")),
		ShutdownTimeout:         5 * time.Second,
	})
	if err != nil {
		return err
	}
	mainTarget = targetOf(mainCtrl)
	err = poll.Until(ctx, 100*time.Millisecond, 60*time.Second, func(context.Context) error {
		if !mainCtrl.Ready() {
			return errors.New("not ready")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("main controller: %w", err)
	}
	return nil
}

func createClass(ctx context.Context, name, controller string, isDefault bool) error {
	c := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       networkingv1.IngressClassSpec{Controller: controller},
	}
	if isDefault {
		c.Annotations = map[string]string{translate.AnnotationDefaultClass: "true"}
	}
	_, err := kube.NetworkingV1().IngressClasses().Create(ctx, c, metav1.CreateOptions{})
	return err
}

// waitNamespacesGone waits until the namespaces the tests created are
// deleted (the namespace controller of kube-controller-manager removes
// their contents first).
func waitNamespacesGone() error {
	err := poll.Until(context.Background(), 200*time.Millisecond, namespaceTimeout, func(ctx context.Context) error {
		list, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: testLabel})
		if err != nil {
			return err
		}
		var names []string
		for _, ns := range list.Items {
			names = append(names, ns.Name+"("+string(ns.Status.Phase)+")")
		}
		if len(names) > 0 {
			return fmt.Errorf("still there: %s", strings.Join(names, ", "))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("test namespaces not deleted: %w", err)
	}
	return nil
}

// requireCluster skips the test when the package cannot run.
func requireCluster(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

func ptrTo[T any](v T) *T { return &v }

// testLogger returns a logger for an extra controller, into the log file.
func testLogger(name string) *slog.Logger {
	var w io.Writer = io.Discard
	if logFile != nil {
		w = logFile
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With(slog.String("controller", name))
}
