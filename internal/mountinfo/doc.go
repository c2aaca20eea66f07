// Package mountinfo reads /proc/self/mountinfo: the mounts of this
// process's mount namespace, with the octal escapes of paths decoded. The
// host agent (volumes, cgroup limits), the runc runtime's cgroup code and
// the image service (overlay mounts) all read it through here.
package mountinfo
