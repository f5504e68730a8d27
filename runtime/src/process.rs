//! process: argv, env, cwd, the executable lookup and the last steps before
//! execve, prepared as C strings in the parent.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libc::c_char;
use nix::errno::Errno;
use oci_spec::runtime::Process;

use crate::error::{Error, Result};
use crate::syscall::{raw_openat2, resolve, OpenHow, Syscalls};

/// PATH used for the executable lookup when the process env has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything execve needs, with NULL-terminated pointer arrays into the
/// owned strings (the strings live on the heap, so moving the plan keeps
/// the pointers valid).
#[derive(Debug)]
pub struct ProcessPlan {
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    _envp: Vec<CString>,
    envp_ptrs: Vec<*const c_char>,
    /// Paths tried in order for args[0].
    pub candidates: Vec<CString>,
    pub cwd: CString,
    /// args[0] as written, for messages.
    pub arg0: String,
    pub no_new_privileges: bool,
    /// Text for /proc/self/oom_score_adj.
    pub oom_score_adj: Option<CString>,
}

impl ProcessPlan {
    /// Builds the plan; `rootfs` is used to find HOME in /etc/passwd when the
    /// env does not set it (None for exec, whose env is complete).
    pub fn prepare(p: &Process, rootfs: Option<&Path>) -> Result<Self> {
        let args = p.args().as_deref().unwrap_or_default();
        let argv = to_cstrings(args)
            .ok_or_else(|| Error::InvalidArgument("process args contain a NUL byte".into()))?;
        let mut env: Vec<String> = p.env().clone().unwrap_or_default();
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            let home = rootfs
                .and_then(|r| home_from_passwd(r, p.user().uid()))
                .unwrap_or_else(|| "/".into());
            env.push(format!("HOME={home}"));
        }
        let envp = to_cstrings(&env)
            .ok_or_else(|| Error::InvalidArgument("process env contains a NUL byte".into()))?;
        let path_var = env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        let arg0 = args.first().cloned().unwrap_or_default();
        let candidates = candidates(&arg0, path_var);
        Ok(ProcessPlan {
            argv_ptrs: null_terminated(&argv),
            envp_ptrs: null_terminated(&envp),
            _argv: argv,
            _envp: envp,
            candidates,
            cwd: CString::new(p.cwd().as_os_str().as_bytes())
                .map_err(|_| Error::InvalidArgument("cwd contains a NUL byte".into()))?,
            arg0,
            no_new_privileges: p.no_new_privileges().unwrap_or(false),
            oom_score_adj: p
                .oom_score_adj()
                .and_then(|v| CString::new(v.to_string()).ok()),
        })
    }

    pub fn argv(&self) -> &[*const c_char] {
        &self.argv_ptrs
    }

    pub fn envp(&self) -> &[*const c_char] {
        &self.envp_ptrs
    }
}

fn to_cstrings(items: &[String]) -> Option<Vec<CString>> {
    items
        .iter()
        .map(|s| CString::new(s.as_bytes()).ok())
        .collect()
}

fn null_terminated(items: &[CString]) -> Vec<*const c_char> {
    items
        .iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The paths execve will try: arg0 itself when it has a slash, else each
/// PATH entry joined with it (empty entries mean the cwd, as in execvp).
fn candidates(arg0: &str, path_var: &str) -> Vec<CString> {
    if arg0.contains('/') {
        return CString::new(arg0).into_iter().collect();
    }
    path_var
        .split(':')
        .map(|dir| if dir.is_empty() { "." } else { dir })
        .filter_map(|dir| CString::new(format!("{}/{arg0}", dir.trim_end_matches('/'))).ok())
        .collect()
}

/// Child side: the first candidate that is an executable regular file.
pub fn find_executable<'a, S: Syscalls>(
    sys: &S,
    plan: &'a ProcessPlan,
) -> Result<&'a CString, Errno> {
    let mut last = Errno::ENOENT;
    for c in &plan.candidates {
        match sys.access_exec(c) {
            Ok(()) => return Ok(c),
            // A permission problem is more telling than "not found".
            Err(e) if e != Errno::ENOENT && e != Errno::ENOTDIR => last = e,
            Err(_) => {}
        }
    }
    Err(last)
}

/// Looks up `uid`'s home directory in the rootfs's /etc/passwd, resolving
/// the path inside the rootfs so a symlinked passwd cannot point at the host.
fn home_from_passwd(rootfs: &Path, uid: u32) -> Option<String> {
    let root = File::open(rootfs).ok()?;
    let how = OpenHow {
        flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: resolve::IN_ROOT | resolve::NO_MAGICLINKS,
    };
    let fd = raw_openat2(std::os::fd::AsRawFd::as_raw_fd(&root), c"etc/passwd", &how);
    if fd < 0 {
        return None;
    }
    // SAFETY: openat2 returned a fresh fd that we own from here on.
    let mut file = unsafe { File::from_raw_fd(fd as RawFd) };
    let mut text = String::new();
    file.by_ref().take(1 << 20).read_to_string(&mut text).ok()?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[2].parse() == Ok(uid)).then(|| fields[5].to_owned())
    })
}

/// Returns the path as a C string (helper for callers with `Path`s).
pub fn path_cstring(p: &Path) -> Option<CString> {
    CString::new(OsStr::as_bytes(p.as_os_str())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recorder::Recorder;
    use oci_spec::runtime::ProcessBuilder;

    #[test]
    fn candidates_follow_path() {
        let c = candidates("sh", "/usr/bin::/bin/");
        assert_eq!(
            c,
            vec![
                c"/usr/bin/sh".to_owned(),
                c"./sh".to_owned(),
                c"/bin/sh".to_owned()
            ]
        );
        assert_eq!(candidates("./x", DEFAULT_PATH), vec![c"./x".to_owned()]);
    }

    #[test]
    fn argv_and_envp_are_null_terminated() {
        let p = ProcessBuilder::default()
            .args(vec!["echo".into(), "hi".into()])
            .env(vec!["PATH=/bin".into(), "HOME=/root".into()])
            .cwd("/")
            .build()
            .unwrap();
        let plan = ProcessPlan::prepare(&p, None).unwrap();
        assert_eq!(plan.argv().len(), 3);
        assert!(plan.argv()[2].is_null());
        assert_eq!(plan.envp().len(), 3);
        assert_eq!(plan.candidates, vec![c"/bin/echo".to_owned()]);
    }

    #[test]
    fn home_defaults_to_slash() {
        let p = ProcessBuilder::default()
            .args(vec!["sh".into()])
            .cwd("/")
            .build()
            .unwrap();
        let plan = ProcessPlan::prepare(&p, Some(Path::new("/nonexistent"))).unwrap();
        assert!(plan._envp.iter().any(|e| e.as_c_str() == c"HOME=/"));
    }

    #[test]
    fn lookup_takes_the_first_executable() {
        let p = ProcessBuilder::default()
            .args(vec!["sh".into()])
            .env(vec!["PATH=/a:/b".into()])
            .cwd("/")
            .build()
            .unwrap();
        let plan = ProcessPlan::prepare(&p, None).unwrap();
        let sys = Recorder::failing_times("access_exec /a/sh", Errno::ENOENT, 1);
        assert_eq!(find_executable(&sys, &plan).unwrap().as_c_str(), c"/b/sh");
        let sys = Recorder::failing("access_exec", Errno::ENOENT);
        assert_eq!(find_executable(&sys, &plan).unwrap_err(), Errno::ENOENT);
    }
}
