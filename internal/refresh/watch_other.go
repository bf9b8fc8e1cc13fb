//go:build !linux

package refresh

// watchGone cannot watch here: the keeper polls.
func (d *Dir) watchGone() (gone <-chan struct{}, stop func()) { return nil, func() {} }
