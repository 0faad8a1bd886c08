// The key in CgroupManager.paths (and so in the state file) that names a systemd scope unit: its
// value is a unit name, not a directory. Its own module: cgroup-birth.ts needs it without D-Bus.
export const SYSTEMD_UNIT_KEY = 'systemd-scope';
