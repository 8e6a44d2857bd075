package schedule_test

import (
	"fmt"
	"time"

	"github.com/segflow/segflow/jobs/schedule"
)

// A nightly job last ran on the 1st; segflow was down until the 4th.
func ExampleDue() {
	paris, _ := time.LoadLocation("Europe/Paris")
	nightly, err := schedule.Parse("0 3 * * *", paris)
	if err != nil {
		panic(err)
	}
	last := time.Date(2026, 3, 1, 3, 0, 0, 0, paris)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, paris)
	for _, policy := range []schedule.CatchUp{schedule.CatchUpOne, schedule.CatchUpNone, schedule.CatchUpAll} {
		fmt.Printf("%-4s", policy)
		for _, t := range schedule.Due(nightly, last, now, policy, 0) {
			fmt.Print(" ", t.In(paris).Format("Jan 2 15:04"))
		}
		fmt.Println()
	}
	// Output:
	// one  Mar 4 03:00
	// none
	// all  Mar 2 03:00 Mar 3 03:00 Mar 4 03:00
}

func ExampleParse() {
	_, err := schedule.Parse("0 3 * * 8", time.UTC)
	fmt.Println(err)
	// Output:
	// schedule "0 3 * * 8": day-of-week field "8": end of range (8) above maximum (6): 8
}
