# Sourced by the install-*.sh scripts: `apt_install PACKAGE...` installs Debian packages without
# a prompt, through sudo when not root; `as_root` runs any other command the same way.
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo --non-interactive env DEBIAN_FRONTEND=noninteractive)
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  "${as_root[@]}" apt-get update -qq </dev/null
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null
}
