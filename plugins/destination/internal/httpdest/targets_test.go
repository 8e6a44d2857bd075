package httpdest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTargets(t *testing.T) {
	lists := Targets[string]{Default: "all", BySegment: map[string]string{"vip": "L1", "churn": "L2", "again": "L1"}}
	id, ok := lists.For("vip")
	require.True(t, ok)
	require.Equal(t, "L1", id)
	id, ok = lists.For("other")
	require.True(t, ok)
	require.Equal(t, "all", id, "the default")
	require.Equal(t, []string{"L1", "L2", "all"}, lists.All(), "each once, sorted")

	none := Targets[int]{BySegment: map[string]int{"vip": 7}}
	_, ok = none.For("other")
	require.False(t, ok, "no entry and no default")
	require.Equal(t, []int{7}, none.All())
}
