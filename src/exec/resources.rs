//! Names of the engine resources a run creates. Every name embeds the run key
//! `<host>-<pid>-<nonce>`, so concurrent runs on one engine never collide (acb's fixed names
//! do), and a later run can tell the leftovers of a killed run (its pid is gone on this host)
//! from those of a run still going.

use std::collections::BTreeMap;

use crate::engine::{PID_LABEL, RUN_LABEL};

/// Prefix of every resource name.
pub const PREFIX: &str = "taskrun-";

/// The unique key of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunKey {
    /// Four hex digits derived from the host name.
    pub host: String,
    /// The taskrun process id.
    pub pid: u32,
    /// Random hex, unique per run.
    pub nonce: String,
}

impl RunKey {
    /// A fresh key for this process.
    pub fn generate() -> Self {
        let nonce = format!("{:06x}", rand_u32() & 0xff_ffff);
        Self {
            host: host_tag(),
            pid: std::process::id(),
            nonce,
        }
    }

    /// `<host>-<pid>-<nonce>`.
    pub fn as_string(&self) -> String {
        format!("{}-{}-{}", self.host, self.pid, self.nonce)
    }

    /// Parses the key out of a resource name made by [`RunKey::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(PREFIX)?;
        let mut parts = rest.splitn(4, '-');
        let host = parts.next()?;
        let pid = parts.next()?.parse().ok()?;
        let nonce = parts.next()?;
        (host.len() == 4 && !nonce.is_empty()).then(|| Self {
            host: host.to_owned(),
            pid,
            nonce: nonce.to_owned(),
        })
    }

    /// A resource name for this run: `taskrun-<key>-<suffix>` (suffix sanitised to Docker's
    /// name characters).
    pub fn name(&self, suffix: &str) -> String {
        format!("{PREFIX}{}-{}", self.as_string(), sanitize(suffix))
    }

    /// The labels every resource of this run carries.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (RUN_LABEL.to_owned(), self.as_string()),
            (PID_LABEL.to_owned(), self.pid.to_string()),
        ])
    }

    /// The volume of this run that holds the gate program of containers started ahead (see
    /// `engine::ahead`).
    pub fn gate_volume(&self) -> crate::engine::ahead::GateVolume {
        crate::engine::ahead::GateVolume {
            name: self.name("gate"),
            labels: self.labels(),
        }
    }

    /// Whether this key belongs to a run on this host whose process is gone.
    pub fn is_dead_local_run(&self) -> bool {
        self.host == host_tag()
            && self.pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// This process as the owner of a named-task run in the store: `<host tag>-<pid>`.
pub fn owner_tag() -> String {
    format!("{}-{}", host_tag(), std::process::id())
}

/// Whether the process named by an [`owner_tag`] has ended: it ran on this host and its pid is
/// gone. An owner on another host (a shared store) is never judged gone.
pub fn owner_is_gone(tag: &str) -> bool {
    let Some((host, pid)) = tag.rsplit_once('-') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == host_tag()
        && pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The pid of the process named by an [`owner_tag`] when it runs (or ran) on this host; `None`
/// for an owner on another host (a shared store) or a tag that is not an owner tag.
pub fn local_owner_pid(tag: &str) -> Option<u32> {
    let (host, pid) = tag.rsplit_once('-')?;
    let pid = pid.parse::<u32>().ok()?;
    (host == host_tag()).then_some(pid)
}

pub use crate::engine::names::sanitize;

fn host_tag() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let mut h: u32 = 0x811c_9dc5;
    for b in host.trim().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{:04x}", h & 0xffff)
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let k = RunKey::generate();
        let n = k.name("my step/1");
        assert!(n.starts_with("taskrun-"));
        assert!(n.ends_with("-my_step_1"));
        assert_eq!(RunKey::from_name(&n), Some(k.clone()));
        assert_ne!(RunKey::generate().nonce, RunKey::generate().nonce);
        assert!(!k.is_dead_local_run());
        let dead = RunKey {
            pid: u32::MAX - 1,
            ..k
        };
        assert!(dead.is_dead_local_run());
        assert_eq!(RunKey::from_name("taskrun-zz"), None);
        assert!(!owner_is_gone(&owner_tag()), "this process");
        assert!(owner_is_gone(&format!("{}-{}", host_tag(), u32::MAX - 1)));
        assert!(
            !owner_is_gone(&format!("zzzz-{}", u32::MAX - 1)),
            "another host"
        );
        assert!(!owner_is_gone("garbage"));
        assert_eq!(local_owner_pid(&owner_tag()), Some(std::process::id()));
        assert_eq!(local_owner_pid(&format!("zzzz-{}", u32::MAX - 1)), None);
        assert_eq!(local_owner_pid("garbage"), None);
        assert_eq!(RunKey::from_name("other"), None);
    }
}
