package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/segflow/segflow/core"
	destinationv1 "github.com/segflow/segflow/plugins/proto/destination/v1"
	warehousev1 "github.com/segflow/segflow/plugins/proto/warehouse/v1"
	"github.com/segflow/segflow/plugins/sdk"
)

// External is a plugin binary named in config.
type External struct {
	Name   string
	Kind   string // "warehouse" or "destination"
	Path   string // absolute
	SHA256 string // hex
}

// Host knows where plugins come from and launches them.
type Host struct {
	// Self is the segflow executable that serves the built-in plugins.
	Self string
	// Builtins are the warehouse plugins `Self plugin serve NAME` serves.
	Builtins []string
	// BuiltinDestinations are the destination plugins it serves.
	BuiltinDestinations []string
	// External plugins from config, by name.
	External map[string]External
	// Dir is the working directory of plugin processes, so that relative
	// paths in plugin configs resolve against the config file.
	Dir string
	// Logger receives the plugins' log lines.
	Logger *slog.Logger
}

// Warehouse launches the named warehouse plugin and returns a client.
// Close on the client stops the plugin process.
func (h *Host) Warehouse(name string) (core.Warehouse, error) {
	cmd, checksum, err := h.command(name, "warehouse")
	if err != nil {
		return nil, err
	}
	return LaunchWarehouse(cmd, checksum, h.Logger)
}

// Destination launches the named destination plugin and returns a client.
// Close on the client stops the plugin process.
func (h *Host) Destination(name string) (core.Destination, error) {
	cmd, checksum, err := h.command(name, "destination")
	if err != nil {
		return nil, err
	}
	return LaunchDestination(cmd, checksum, h.Logger)
}

func (h *Host) command(name, kind string) (*exec.Cmd, []byte, error) {
	if ext, ok := h.External[name]; ok {
		if ext.Kind != kind {
			return nil, nil, fmt.Errorf("plugin %q is a %s plugin, not a %s plugin", name, ext.Kind, kind)
		}
		sum, err := hex.DecodeString(ext.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, nil, fmt.Errorf("plugin %q: sha256 must be 64 hex characters", name)
		}
		cmd := exec.Command(ext.Path)
		cmd.Dir = h.Dir
		return cmd, sum, nil
	}
	builtins := h.Builtins
	if kind == "destination" {
		builtins = h.BuiltinDestinations
	}
	for _, b := range builtins {
		if b == name {
			cmd := exec.Command(h.Self, "plugin", "serve", name)
			cmd.Dir = h.Dir
			return cmd, nil, nil
		}
	}
	return nil, nil, fmt.Errorf("unknown %s plugin %q (built-in: %v; declare external plugins under plugins:)", kind, name, builtins)
}

// LaunchWarehouse starts cmd as a warehouse plugin. A non-nil checksum is
// the SHA-256 the executable must have; it is verified before launch.
func LaunchWarehouse(cmd *exec.Cmd, checksum []byte, logger *slog.Logger) (core.Warehouse, error) {
	raw, kill, err := launch(cmd, checksum, logger, sdk.WarehousePluginName)
	if err != nil {
		return nil, err
	}
	return NewWarehouseClient(raw.(warehousev1.WarehouseClient), kill), nil
}

// LaunchDestination starts cmd as a destination plugin, as
// LaunchWarehouse does a warehouse plugin.
func LaunchDestination(cmd *exec.Cmd, checksum []byte, logger *slog.Logger) (core.Destination, error) {
	raw, kill, err := launch(cmd, checksum, logger, sdk.DestinationPluginName)
	if err != nil {
		return nil, err
	}
	return NewDestinationClient(raw.(destinationv1.DestinationClient), kill), nil
}

// launch starts a plugin process and dispenses the named plugin's raw
// gRPC client; kill stops the process.
func launch(cmd *exec.Cmd, checksum []byte, logger *slog.Logger, plugin string) (any, func() error, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := &goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.Plugins(sdk.ServeOpts{}),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		GRPCDialOptions:  append(sdk.DialOptions(), callOptions()),
		Logger:           hclogAdapter(logger),
		SyncStderr:       io.Discard,
	}
	if checksum != nil {
		if err := VerifyChecksum(cmd.Path, checksum); err != nil {
			return nil, nil, err
		}
		cfg.SecureConfig = &goplugin.SecureConfig{Checksum: checksum, Hash: sha256.New()}
	}
	client := goplugin.NewClient(cfg)
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("start plugin %s: %w", cmd.Path, err)
	}
	raw, err := rpc.Dispense(plugin)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("plugin %s: %w", cmd.Path, err)
	}
	return raw, func() error { client.Kill(); return nil }, nil
}

// VerifyChecksum checks the SHA-256 of the file at path. go-plugin checks
// again at launch; checking here first gives a clear message.
func VerifyChecksum(path string, want []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("plugin binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("plugin binary %s: %w", path, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("plugin binary %s: checksum mismatch: sha256 is %x, config says %x; refusing to launch", path, got, want)
	}
	return nil
}

// Listing describes one plugin for `segflow plugins list`.
type Listing struct {
	Name, Kind, Source string
	// Info is set for warehouse plugins, Destination for destinations.
	Info        core.WarehouseInfo
	Destination core.DestinationInfo
	Err         error
}

// Version is the plugin's version, whatever its kind.
func (l Listing) Version() string {
	if l.Kind == "destination" {
		return l.Destination.Version
	}
	return l.Info.Version
}

// List launches every known plugin to ask for its info.
func (h *Host) List(ctx context.Context) []Listing {
	var out []Listing
	for _, b := range h.Builtins {
		out = append(out, h.describe(ctx, b, "warehouse", "built-in"))
	}
	for _, b := range h.BuiltinDestinations {
		out = append(out, h.describe(ctx, b, "destination", "built-in"))
	}
	names := make([]string, 0, len(h.External))
	for n := range h.External {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ext := h.External[n]
		out = append(out, h.describe(ctx, n, ext.Kind, ext.Path))
	}
	return out
}

func (h *Host) describe(ctx context.Context, name, kind, source string) Listing {
	l := Listing{Name: name, Kind: kind, Source: source}
	switch kind {
	case "warehouse":
		wh, err := h.Warehouse(name)
		if err != nil {
			l.Err = err
			return l
		}
		defer wh.Close()
		l.Info, l.Err = wh.Info(ctx)
	case "destination":
		d, err := h.Destination(name)
		if err != nil {
			l.Err = err
			return l
		}
		defer d.Close()
		l.Destination, l.Err = d.Info(ctx)
	}
	return l
}

func hclogAdapter(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "plugin",
		Output: slogWriter{l},
		// go-plugin narrates process starts and exits at Info; only its
		// warnings and errors are worth a user's attention.
		Level: hclog.Warn,
	})
}

// slogWriter forwards go-plugin's log lines to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Info(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
