//! Process-wide setup of a fresh worker: umask, then group and user (`-m`, `-g`, `-u`,
//! `--initgroups`), in the order that still has the privileges each step needs.

use std::ffi::CString;

use nix::unistd::{getegid, geteuid, setgid, setgroups, setuid, Gid, Uid, User};

use crate::config::Config;

/// Apply umask, gid and uid from the configuration.
pub fn become_worker(cfg: &Config) -> nix::Result<()> {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(cfg.umask as libc::mode_t));
    let (uid, gid) = (Uid::from_raw(cfg.uid), Gid::from_raw(cfg.gid));
    if gid != getegid() || (cfg.initgroups && uid != geteuid()) {
        if cfg.initgroups {
            if let Ok(Some(user)) = User::from_uid(uid) {
                let name = CString::new(user.name).map_err(|_| nix::errno::Errno::EINVAL)?;
                nix::unistd::initgroups(&name, gid)?;
            }
        } else if uid != geteuid() {
            setgroups(&[gid])?;
        }
        setgid(gid)?;
    }
    if uid != geteuid() {
        setuid(uid)?;
    }
    Ok(())
}
