package hostagent

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
	"github.com/openpacific/pacific/services/hostagent/runtime"
)

// passwdEntry and groupEntry are lines of the container's /etc/passwd and
// /etc/group.
type passwdEntry struct {
	name     string
	uid, gid uint32
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// resolveUser decides who the container runs as: runAsUser/runAsGroup
// (container over pod), else the image's User ("uid", "name", with
// optional ":gid" or ":group"), names resolved in the container's own
// /etc/passwd and /etc/group (read inside rootfs; symlinks cannot escape
// it). Supplementary groups are those listing the user by name.
func resolveUser(rootfs string, pod *corev1.Pod, c *corev1.Container, imageUser string) (runtime.User, error) {
	runAsUser, runAsGroup, nonRoot := securityIDs(pod, c)
	users, groups := readUserDB(rootfs)
	var u runtime.User
	userPart, groupPart, hasGroup := strings.Cut(imageUser, ":")
	var name string
	switch {
	case runAsUser != nil:
		if *runAsUser < 0 || *runAsUser > 1<<32-1 {
			return u, configErrorf("runAsUser %d out of range", *runAsUser)
		}
		u.UID = uint32(*runAsUser)
		hasGroup = false
		if e, ok := findUserByID(users, u.UID); ok {
			u.GID, name = e.gid, e.name
		}
	case userPart == "":
		if e, ok := findUserByID(users, 0); ok {
			name = e.name
		}
	default:
		if id, ok := parseNumericID(userPart); ok {
			u.UID = id
			if e, ok := findUserByID(users, id); ok {
				u.GID, name = e.gid, e.name
			}
		} else {
			e, ok := findUserByName(users, userPart)
			if !ok {
				return u, configErrorf("unable to find user %s: no matching entries in the image's /etc/passwd", userPart)
			}
			u.UID, u.GID, name = e.uid, e.gid, e.name
		}
	}
	if hasGroup && groupPart != "" {
		if id, ok := parseNumericID(groupPart); ok {
			u.GID = id
		} else {
			g, ok := findGroupByName(groups, groupPart)
			if !ok {
				return u, configErrorf("unable to find group %s: no matching entries in the image's /etc/group", groupPart)
			}
			u.GID = g.gid
		}
	}
	if runAsGroup != nil {
		if *runAsGroup < 0 || *runAsGroup > 1<<32-1 {
			return u, configErrorf("runAsGroup %d out of range", *runAsGroup)
		}
		u.GID = uint32(*runAsGroup)
	}
	if nonRoot && u.UID == 0 {
		return u, configErrorf("container has runAsNonRoot and image will run as root")
	}
	if name != "" {
		for _, g := range groups {
			if g.gid != u.GID && slices.Contains(g.members, name) {
				u.AdditionalGIDs = append(u.AdditionalGIDs, g.gid)
			}
		}
	}
	return u, nil
}

func findUserByID(users []passwdEntry, id uint32) (passwdEntry, bool) {
	for _, e := range users {
		if e.uid == id {
			return e, true
		}
	}
	return passwdEntry{}, false
}

func findUserByName(users []passwdEntry, name string) (passwdEntry, bool) {
	for _, e := range users {
		if e.name == name {
			return e, true
		}
	}
	return passwdEntry{}, false
}

func findGroupByName(groups []groupEntry, name string) (groupEntry, bool) {
	for _, g := range groups {
		if g.name == name {
			return g, true
		}
	}
	return groupEntry{}, false
}

// readUserDB reads the container's passwd and group files; missing or
// unreadable files are empty.
func readUserDB(rootfs string) ([]passwdEntry, []groupEntry) {
	var users []passwdEntry
	var groups []groupEntry
	if r, err := openInRoot(rootfs, "etc/passwd"); err == nil {
		users = parsePasswd(io.LimitReader(r, 4<<20))
		r.Close()
	}
	if r, err := openInRoot(rootfs, "etc/group"); err == nil {
		groups = parseGroup(io.LimitReader(r, 4<<20))
		r.Close()
	}
	return users, groups
}

// openInRoot opens path resolved inside root: absolute symlinks and ".."
// stay within root (openat2 RESOLVE_IN_ROOT).
func openInRoot(root, path string) (*os.File, error) {
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, path, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, &fs.PathError{Op: "openat2", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, errors.New(path + ": not a regular file")
	}
	return f, nil
}

func parsePasswd(r io.Reader) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, ok1 := parseNumericID(f[2])
		gid, ok2 := parseNumericID(f[3])
		if ok1 && ok2 {
			out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid})
		}
	}
	return out
}

func parseGroup(r io.Reader) []groupEntry {
	var out []groupEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, ok := parseNumericID(f[2])
		if !ok {
			continue
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	}
	return out
}
