package examples

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segflow/segflow/config"
	"github.com/segflow/segflow/core"
	"github.com/segflow/segflow/jobs"
	"github.com/segflow/segflow/plugins/destination/braze"
	"github.com/segflow/segflow/plugins/destination/customerio"
	"github.com/segflow/segflow/plugins/destination/file"
	"github.com/segflow/segflow/plugins/destination/hubspot"
	"github.com/segflow/segflow/plugins/destination/klaviyo"
	"github.com/segflow/segflow/plugins/destination/mailchimp"
	"github.com/segflow/segflow/plugins/destination/sendgrid"
	"github.com/segflow/segflow/plugins/destination/webhook"
	"github.com/segflow/segflow/sql/dialect"
)

// builtinDestinations constructs the built-in destinations, as
// cmd/segflow serves them.
var builtinDestinations = map[string]func() core.Destination{
	"file":       func() core.Destination { return file.New("") },
	"mailchimp":  func() core.Destination { return mailchimp.New() },
	"klaviyo":    func() core.Destination { return klaviyo.New() },
	"braze":      func() core.Destination { return braze.New() },
	"sendgrid":   func() core.Destination { return sendgrid.New() },
	"hubspot":    func() core.Destination { return hubspot.New() },
	"customerio": func() core.Destination { return customerio.New() },
	"webhook":    func() core.Destination { return webhook.New() },
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// setExampleEnv sets every ${NAME} the files reference to a value of
// its own, shaped as the plugins expect where they check the shape.
func setExampleEnv(t *testing.T, paths ...string) {
	t.Helper()
	shaped := map[string]string{"MAILCHIMP_API_KEY": "0123456789abcdef0123456789abcdef-us6"}
	for _, p := range paths {
		for _, m := range envRef.FindAllSubmatch(mustRead(t, p), -1) {
			name := string(m[1])
			if v, ok := shaped[name]; ok {
				t.Setenv(name, v)
			} else {
				t.Setenv(name, "example-value-of-"+name)
			}
		}
	}
}

// Every example config must load, validate and plan, and every built-in
// destination named must accept its section (Configure checks the fields
// without contacting anything), so the README's examples stay true.
func TestExampleConfigsValidate(t *testing.T) {
	paths, err := filepath.Glob("*/segflow.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(paths), 4)
	require.Contains(t, paths, filepath.Join("destinations", "segflow.yaml"))
	setExampleEnv(t, paths...)
	for _, p := range paths {
		cfg, err := config.Load(p)
		require.NoError(t, err, p)
		// As `segflow validate` does offline: every job renders for its
		// warehouse's dialect, segment filters type-checked.
		_, err = dialect.Get(cfg.Warehouse.Plugin)
		require.NoError(t, err, p)
		offline := &jobs.Runner{Config: cfg, Dialect: cfg.Warehouse.Plugin}
		for _, j := range cfg.Jobs {
			_, err := offline.Plan(context.Background(), j.Name)
			require.NoError(t, err, "%s: job %s", p, j.Name)
		}
		for _, d := range cfg.Destinations {
			if cfg.Plugin(d.Plugin) != nil {
				continue // an external plugin, checked by its own tests
			}
			newDest, ok := builtinDestinations[d.Plugin]
			require.True(t, ok, "%s: destination %s: %s is not a built-in", p, d.Name, d.Plugin)
			raw, err := cfg.PluginConfigJSON(d.Config)
			require.NoError(t, err)
			dest := newDest()
			require.NoError(t, dest.Configure(context.Background(), raw), "%s: destination %s", p, d.Name)
			require.NoError(t, dest.Close())
		}
	}
}

// TestDestinationsExampleUsesEveryBuiltin: the destinations example shows
// each built-in destination but file (the quickstart's).
func TestDestinationsExampleUsesEveryBuiltin(t *testing.T) {
	setExampleEnv(t, "destinations/segflow.yaml")
	cfg, err := config.Load("destinations/segflow.yaml")
	require.NoError(t, err)
	used := map[string]bool{}
	for _, d := range cfg.Destinations {
		used[d.Plugin] = true
	}
	for _, name := range config.BuiltinDestinations {
		require.Equal(t, name != "file", used[name], name)
	}
}

// TestReadmeDestinationExamples: every destination config the README
// shows loads and is accepted by its plugin.
func TestReadmeDestinationExamples(t *testing.T) {
	readme := filepath.Join("..", "README.md")
	setExampleEnv(t, readme)
	blocks := yamlBlock.FindAllSubmatch(mustRead(t, readme), -1)
	const head = "version: 1\nwarehouse: {plugin: duckdb}\nsources:\n  customers: {table: customers}\n  orders: {table: orders}\n"
	seen := map[string]bool{}
	for _, b := range blocks {
		cfg, err := config.Parse([]byte(head+string(b[1])), "README.md")
		require.NoError(t, err, "%s", b[1])
		for _, d := range cfg.Destinations {
			newDest, ok := builtinDestinations[d.Plugin]
			require.True(t, ok, d.Plugin)
			raw, err := cfg.PluginConfigJSON(d.Config)
			require.NoError(t, err)
			require.NoError(t, newDest().Configure(context.Background(), raw), "README example of %s", d.Plugin)
			seen[d.Plugin] = true
		}
	}
	for _, name := range config.BuiltinDestinations {
		if name != "file" {
			require.True(t, seen[name], "the README has no example of %s", name)
		}
	}
}

// yamlBlock matches a README code block holding a destinations list.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(destinations:\n.*?)```")

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
