//! The `docker build` flags that set up the containers of a build's `RUN` instructions
//! (`--memory`, `--cpu-shares`, `--shm-size`, `--ulimit`, `--cgroup-parent`, `--isolation`, …)
//! and `--squash`: the docker CLI passes each one to the engine's `POST /build` as it is, and the
//! engine decides (a daemon without experimental features refuses `--squash`; the Linux daemon
//! refuses `--security-opt`). taskrun parses their values with docker's own rules, as
//! [`BuildResources`], and sends them the same way.

use super::runopts::{self, Ulimit};
use super::value::ValueError;

/// What a `build` string asks of the build's `RUN` containers, as the engine's build query
/// takes it. Everything unset is left to the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildResources {
    /// `-m`/`--memory`, bytes.
    pub memory: Option<i64>,
    /// `--memory-swap`, bytes (`-1`: unlimited).
    pub memory_swap: Option<i64>,
    /// `-c`/`--cpu-shares`.
    pub cpu_shares: Option<i64>,
    /// `--cpu-period`, microseconds.
    pub cpu_period: Option<i64>,
    /// `--cpu-quota`, microseconds.
    pub cpu_quota: Option<i64>,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--shm-size`, bytes.
    pub shm_size: Option<i64>,
    /// `--ulimit` values, in order.
    pub ulimits: Vec<Ulimit>,
    /// `--cgroup-parent`.
    pub cgroup_parent: Option<String>,
    /// `--isolation`.
    pub isolation: Option<String>,
    /// `--security-opt` values, in order.
    pub security_opts: Vec<String>,
    /// `--squash`.
    pub squash: bool,
}

impl BuildResources {
    /// The flags handled here (canonical long names).
    pub const FLAGS: &'static [&'static str] = &[
        "memory",
        "memory-swap",
        "cpu-shares",
        "cpu-period",
        "cpu-quota",
        "cpuset-cpus",
        "cpuset-mems",
        "shm-size",
        "ulimit",
        "cgroup-parent",
        "isolation",
        "security-opt",
        "squash",
    ];

    /// Sets the flag `name` (one of [`BuildResources::FLAGS`]) from its value (`enabled`: the
    /// value of a boolean flag).
    ///
    /// # Errors
    ///
    /// A value docker's CLI would refuse (`--memory 1x`, `--ulimit nofile=a`, …).
    pub fn set(&mut self, name: &str, value: &str, enabled: bool) -> Result<(), ValueError> {
        match name {
            "memory" => self.memory = Some(runopts::parse_size(value)?),
            "memory-swap" => self.memory_swap = Some(runopts::parse_size_or_unlimited(value)?),
            "cpu-shares" => self.cpu_shares = Some(runopts::parse_int(value)?),
            "cpu-period" => self.cpu_period = Some(runopts::parse_int(value)?),
            "cpu-quota" => self.cpu_quota = Some(runopts::parse_int(value)?),
            "cpuset-cpus" => self.cpuset_cpus = Some(value.to_owned()),
            "cpuset-mems" => self.cpuset_mems = Some(value.to_owned()),
            "shm-size" => self.shm_size = Some(runopts::parse_size(value)?),
            "ulimit" => self.ulimits.push(runopts::parse_ulimit(value)?),
            "cgroup-parent" => self.cgroup_parent = Some(value.to_owned()),
            "isolation" => self.isolation = Some(value.to_owned()),
            "security-opt" => self.security_opts.push(value.to_owned()),
            "squash" => self.squash = enabled,
            other => return Err(format!("`--{other}` is not a build resource flag").into()),
        }
        Ok(())
    }

    /// The build query's parameters for these values (the names and encodings of the docker
    /// CLI's `POST /build`: sizes in bytes, `ulimits` and `securityopt` as JSON), in a fixed
    /// order; nothing for what is unset.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let mut int = |name, v: Option<i64>| {
            if let Some(v) = v {
                q.push((name, v.to_string()));
            }
        };
        int("memory", self.memory);
        int("memswap", self.memory_swap);
        int("cpushares", self.cpu_shares);
        int("cpuperiod", self.cpu_period);
        int("cpuquota", self.cpu_quota);
        int("shmsize", self.shm_size);
        for (name, v) in [
            ("cpusetcpus", &self.cpuset_cpus),
            ("cpusetmems", &self.cpuset_mems),
            ("cgroupparent", &self.cgroup_parent),
            ("isolation", &self.isolation),
        ] {
            if let Some(v) = v {
                q.push((name, v.clone()));
            }
        }
        if !self.ulimits.is_empty() {
            let list: Vec<serde_json::Value> = self
                .ulimits
                .iter()
                .map(|u| serde_json::json!({"Name": u.name, "Hard": u.hard, "Soft": u.soft}))
                .collect();
            q.push(("ulimits", serde_json::Value::Array(list).to_string()));
        }
        if !self.security_opts.is_empty() {
            q.push((
                "securityopt",
                serde_json::Value::from(self.security_opts.clone()).to_string(),
            ));
        }
        if self.squash {
            q.push(("squash", "1".to_owned()));
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_parsed_with_dockers_rules_and_sent_as_the_cli_sends_them() {
        let mut r = BuildResources::default();
        for (flag, value) in [
            ("memory", "512m"),
            ("memory-swap", "-1"),
            ("cpu-shares", "512"),
            ("cpu-period", "100000"),
            ("cpu-quota", "50000"),
            ("cpuset-cpus", "0-1"),
            ("cpuset-mems", "0"),
            ("shm-size", "64m"),
            ("ulimit", "nofile=1024:2048"),
            ("cgroup-parent", "build"),
            ("isolation", "default"),
            ("security-opt", "seccomp=unconfined"),
        ] {
            r.set(flag, value, true).expect(flag);
        }
        r.set("squash", "", true).expect("squash");
        assert_eq!(
            r.query(),
            [
                ("memory", "536870912".to_owned()),
                ("memswap", "-1".to_owned()),
                ("cpushares", "512".to_owned()),
                ("cpuperiod", "100000".to_owned()),
                ("cpuquota", "50000".to_owned()),
                ("shmsize", "67108864".to_owned()),
                ("cpusetcpus", "0-1".to_owned()),
                ("cpusetmems", "0".to_owned()),
                ("cgroupparent", "build".to_owned()),
                ("isolation", "default".to_owned()),
                (
                    "ulimits",
                    r#"[{"Name":"nofile","Hard":2048,"Soft":1024}]"#.to_owned()
                ),
                ("securityopt", r#"["seccomp=unconfined"]"#.to_owned()),
                ("squash", "1".to_owned()),
            ]
        );
        assert!(BuildResources::default().query().is_empty());
    }

    #[test]
    fn values_docker_refuses_are_refused() {
        let mut r = BuildResources::default();
        assert!(r.set("memory", "1x", true).is_err());
        assert!(r.set("cpu-shares", "half", true).is_err());
        assert!(r.set("ulimit", "nofile=a", true).is_err());
        assert!(r.set("shm-size", "", true).is_err());
        assert_eq!(r, BuildResources::default());
    }
}
