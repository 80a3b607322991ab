package wecomtest

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the time source of a sandbox. Takeovers complete, tokens expire
// and the 90-day and daily windows move by this clock, never by the wall
// clock directly.
type Clock interface {
	Now() time.Time
}

// RealClock returns a [Clock] that reads the wall clock.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a [Clock] that moves only when Advance is called. It is safe
// for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a [ManualClock] that reads start until advanced.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d. A negative d moves it back.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ScaledClock is a [Clock] that runs a fixed factor faster than the wall
// clock, starting from a given time. With a factor of 20000, the 24-hour takeover
// delay passes in about 4.3 wall-clock seconds.
type ScaledClock struct {
	start     time.Time // time the clock reads at wallStart
	wallStart time.Time // wall clock reading when the clock was made
	factor    float64
}

// NewScaledClock returns a [ScaledClock] that reads start now and then moves
// factor times faster than the wall clock. A factor below 1 slows it down.
func NewScaledClock(start time.Time, factor float64) *ScaledClock {
	return &ScaledClock{start: start, wallStart: time.Now(), factor: factor}
}

// Now returns the scaled time.
func (c *ScaledClock) Now() time.Time {
	elapsed := float64(time.Since(c.wallStart)) * c.factor
	return c.start.Add(time.Duration(elapsed))
}

// offsetClock adds a shift, set by [Sandbox.Advance], to another clock, so
// that a sandbox can jump forward whatever clock it was given.
type offsetClock struct {
	base   Clock
	offset atomic.Int64 // nanoseconds
}

func (c *offsetClock) Now() time.Time {
	return c.base.Now().Add(time.Duration(c.offset.Load()))
}

func (c *offsetClock) advance(d time.Duration) {
	c.offset.Add(int64(d))
}
