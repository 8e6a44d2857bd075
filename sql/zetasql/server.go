package zetasql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	pb "github.com/segflow/segflow/sql/zetasql/zetasqlpb"
)

// Flavor selects the analyzer: Google's ZetaSQL (BigQuery's SQL) or
// Fivetran's Snowflake fork of it.
type Flavor int

const (
	BigQuery Flavor = iota
	Snowflake
)

func (f Flavor) String() string {
	switch f {
	case BigQuery:
		return "bigquery"
	case Snowflake:
		return "snowflake"
	}
	return "Flavor(" + strconv.Itoa(int(f)) + ")"
}

// ErrNotInstalled means the npm packages holding the servers are not
// installed: run `npm ci --prefix tools/zetasql`.
var ErrNotInstalled = errors.New("zetasql: analyzer not installed (run npm ci --prefix tools/zetasql)")

// startTimeout bounds how long Start waits for a server to answer when the
// caller's context has no earlier deadline. A server answers in well under a
// second on an idle machine; the margin is for loaded CI machines.
const startTimeout = time.Minute

// Analyzer is a running analyzer server and a client for it. Its methods are
// safe for concurrent use.
type Analyzer struct {
	flavor Flavor
	cmd    *exec.Cmd
	exited chan struct{} // closed when the server process has exited
	output *syncBuffer   // the server's stdout and stderr, for error messages
	conn   *grpc.ClientConn
	client pb.ZetaSqlLocalServiceClient
	lang   *pb.LanguageOptionsProto // all features the server knows, enabled
}

// Start starts the analyzer server for f and waits until it answers. The
// server comes from tools/zetasql/node_modules in the repository holding the
// working directory; Start returns an error wrapping ErrNotInstalled if it is
// not there.
func Start(ctx context.Context, f Flavor) (*Analyzer, error) {
	path, err := serverPath(f)
	if err != nil {
		return nil, err
	}
	// The port is picked by binding :0 and releasing it, so another process
	// may grab it before the server binds it; the server then exits at once
	// and we try again with a new port.
	for attempt := 0; ; attempt++ {
		a, err := start(ctx, f, path)
		if err == nil || attempt == 2 || ctx.Err() != nil || !errors.Is(err, errExited) {
			return a, err
		}
	}
}

var errExited = errors.New("server exited")

func start(ctx context.Context, f Flavor, path string) (*Analyzer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	a := &Analyzer{flavor: f, exited: make(chan struct{}), output: &syncBuffer{}}
	// Arguments as the npm package's own runServer passes them.
	a.cmd = exec.Command(path, "localhost", strconv.Itoa(port))
	a.cmd.Stdout, a.cmd.Stderr = a.output, a.output
	a.cmd.SysProcAttr = dieWithParent()
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("zetasql: start %s: %w", path, err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()

	// The npm client raises the message size limits to 500 MiB; the resolved
	// AST of a long statement easily passes gRPC's default of 4 MiB.
	const limit = 500 << 20
	a.conn, err = grpc.NewClient("localhost:"+strconv.Itoa(port),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit)),
		// While the server starts, connecting fails; gRPC's default backoff
		// would wait a whole second before trying again.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		}))
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("zetasql: %w", err)
	}
	a.client = pb.NewZetaSqlLocalServiceClient(a.conn)

	if err := a.waitReady(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// waitReady asks the server for its language options until it answers, the
// process exits or ctx (capped at startTimeout) ends. The answer is kept:
// Analyze enables every feature in it.
func (a *Analyzer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		select {
		case <-a.exited:
			return fmt.Errorf("zetasql: %s %w: %v\n%s", a.flavor, errExited, a.cmd.ProcessState, a.output)
		default:
		}
		try, cancelTry := context.WithTimeout(ctx, 250*time.Millisecond)
		lang, err := a.client.GetLanguageOptions(try,
			&pb.LanguageOptionsRequest{MaximumFeatures: proto.Bool(true)}, grpc.WaitForReady(true))
		cancelTry()
		if err == nil {
			a.lang = languageOptions(a.flavor, lang)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("zetasql: %s server did not answer: %v\n%s", a.flavor, err, a.output)
		}
	}
}

// languageOptions turns the server's maximum features into the options
// every request uses.
func languageOptions(f Flavor, max *pb.LanguageOptionsProto) *pb.LanguageOptionsProto {
	lang := &pb.LanguageOptionsProto{EnabledLanguageFeatures: max.EnabledLanguageFeatures}
	if f == BigQuery {
		// BigQuery is ZetaSQL's external product mode: FLOAT64 instead of
		// DOUBLE, no INT32/UINT64/PROTO types or the functions over them.
		lang.ProductMode = pb.ProductMode_PRODUCT_EXTERNAL.Enum()
	}
	return lang
}

// Close stops the server.
func (a *Analyzer) Close() error {
	if a.conn != nil {
		a.conn.Close()
	}
	if a.cmd.Process != nil {
		a.cmd.Process.Kill() // as the npm package does: the server has no shutdown RPC
		<-a.exited
	}
	return nil
}

// serverPath returns the server binary for f, as the npm packages' runServer
// picks it: remote_server[_arm][.so] (the .so suffix is Linux's, the file is
// an executable all the same).
func serverPath(f Flavor) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	pkg, dir := "zetasql", "zetasql"
	if f == Snowflake {
		pkg, dir = "zetasql-snowflake", "snowflake"
	}
	name := "remote_server"
	if runtime.GOARCH == "arm64" || runtime.GOARCH == "arm" {
		name += "_arm"
	}
	if runtime.GOOS != "darwin" {
		name += ".so"
	}
	path := filepath.Join(root, "tools", "zetasql", "node_modules", "@fivetrandevelopers", pkg, "lib", dir, name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	return path, nil
}

// repoRoot returns the nearest directory at or above the working directory
// that holds a go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory", ErrNotInstalled)
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("zetasql: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects a process's output; exec writes to it from its own
// goroutines while error messages read it. Only the first 64 KiB are kept.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 64<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
