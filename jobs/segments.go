package jobs

import "time"

// SegmentStatus is what segflow knows of one segment: its definition
// from the config and, once a run built it, its size, membership history
// and each destination's sync state, read from the output schema.
type SegmentStatus struct {
	Name    string
	Model   string
	Filter  string `json:",omitempty"`
	Where   string `json:",omitempty"`
	Holdout float64
	// Built says whether the segment's table exists; the figures below
	// are zero until it does.
	Built bool
	// Members is the current size, holdout included; Holdout members
	// are the control group, kept out of every destination.
	Members, HoldoutMembers int64
	// History is the size and churn per run, oldest first.
	History      []SegmentRun
	Destinations []DestinationStatus
}

// SegmentRun is one run's change to a segment's membership.
type SegmentRun struct {
	RunID string
	At    time.Time
	// Members after the run; Joined and Left during it.
	Members, Joined, Left int64
}

// DestinationStatus is one destination's copy of a segment as segflow
// last saw it acknowledged.
type DestinationStatus struct {
	Name   string
	Plugin string
	// Synced records the destination acknowledged and holds.
	Synced   int64
	LastSync time.Time `json:",omitempty"`
	// DeadLetters are records refused permanently and not yet retried.
	DeadLetters int64
}

// SyncPlan is the pending diff of one segment for one destination.
type SyncPlan struct {
	Segment, Destination string
	SyncCounts
	Note string `json:",omitempty"`
}
