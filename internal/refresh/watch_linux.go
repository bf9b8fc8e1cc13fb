package refresh

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// watchGone returns a channel that is closed when the directory may be
// gone: inotify reports it deleted or moved out of its parent, or the
// parent itself deleted or moved. The parent is watched, not the
// directory: while the keeper holds files in it, removing the directory
// reports nothing on the directory itself. stop ends the watch. A nil
// channel means no watch could be set (the caller polls).
func (d *Dir) watchGone() (gone <-chan struct{}, stop func()) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, func() {}
	}
	parent, name := filepath.Split(d.Path)
	const mask = syscall.IN_DELETE | syscall.IN_MOVED_FROM | syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_ONLYDIR
	if _, err := syscall.InotifyAddWatch(fd, parent, mask); err != nil {
		syscall.Close(fd)
		return nil, func() {}
	}
	// Non-blocking, the file is read through the runtime's poller: no
	// thread waits on it.
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if d.Gone() { // before the watch began
			return
		}
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil || concerns(buf[:n], name) {
				return
			}
		}
	}()
	return ch, func() { f.Close() }
}

// concerns reports whether the inotify events in b may mean that the
// entry name, or the watched directory itself, is gone.
func concerns(b []byte, name string) bool {
	for len(b) >= syscall.SizeofInotifyEvent {
		ev := (*syscall.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := syscall.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			return true
		}
		if ev.Mask&(syscall.IN_DELETE_SELF|syscall.IN_MOVE_SELF|syscall.IN_IGNORED|syscall.IN_Q_OVERFLOW) != 0 {
			return true
		}
		if string(bytes.TrimRight(b[syscall.SizeofInotifyEvent:end], "\x00")) == name {
			return true
		}
		b = b[end:]
	}
	return false
}
