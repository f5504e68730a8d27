//! exec into a running container, and terminals through a console socket.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

fn running(rt: &Runtime, bundle: &Bundle) -> String {
    let id = unique("exec");
    assert!(rt
        .run(&["create", "--bundle", bundle.path().to_str().unwrap(), &id])
        .status
        .success());
    let out = rt.run(&["start", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    id
}

#[test]
fn exec_joins_the_container() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sleep", "1000"]);
    bundle.config["hostname"] = json!("execbox");
    bundle.save();
    let id = running(&rt, &bundle);
    let out = rt.run(&["exec", &id, "sh", "-c", "hostname; echo $$; [ $(readlink /proc/1/ns/pid) = $(readlink /proc/self/ns/pid) ] && echo samepid; grep NoNewPrivs /proc/self/status; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "execbox");
    assert_ne!(lines[1], "1");
    assert_eq!(lines[2], "samepid");
    assert!(lines[3].ends_with('1'), "{text}");
    // The exec'd process is in the container's cgroup: ps lists it while it runs.
    let out = rt.run(&[
        "exec",
        "--detach",
        "--pid-file",
        bundle.path().join("exec.pid").to_str().unwrap(),
        &id,
        "sleep",
        "100",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid: i32 = std::fs::read_to_string(bundle.path().join("exec.pid"))
        .unwrap()
        .parse()
        .unwrap();
    let out = rt.run(&["ps", "--format", "json", &id]);
    let pids: Vec<i32> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(pids.contains(&pid), "{pids:?} lacks {pid}");
    assert!(rt.run(&["delete", "--force", &id]).status.success());
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn exec_with_process_json() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let bundle = Bundle::new(&["sleep", "1000"]);
    let id = running(&rt, &bundle);
    let process = json!({
        "args": ["sh", "-c", "id -u; pwd; echo $X"],
        "cwd": "/tmp",
        "env": ["PATH=/bin", "X=y"],
        "user": {"uid": 42, "gid": 42}
    });
    let path = bundle.path().join("process.json");
    std::fs::write(&path, process.to_string()).unwrap();
    let out = rt.run(&["exec", "--process", path.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        ["42", "/tmp", "y"]
    );
    let out = rt.run(&["exec", &id, "/no/such/thing"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );
    assert!(rt.run(&["delete", "--force", &id]).status.success());
}

/// Accepts one connection on `listener` and receives the pty master.
fn receive_master(listener: &UnixListener) -> OwnedFd {
    let (conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 64];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; zeroed is a valid empty value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: msg points at live buffers of the given sizes.
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, 0) };
    assert!(n > 0);
    // SAFETY: the kernel wrote an SCM_RIGHTS header with one fd into `control`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        assert!(!cmsg.is_null());
        OwnedFd::from_raw_fd(std::ptr::read_unaligned(
            libc::CMSG_DATA(cmsg).cast::<i32>(),
        ))
    }
}

fn read_until(master: &OwnedFd, needle: &str) -> String {
    let mut f = std::fs::File::from(master.try_clone().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut all = String::new();
    let mut buf = [0u8; 1024];
    while !all.contains(needle) && Instant::now() < deadline {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    all
}

#[test]
fn terminal_through_console_socket() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&[
        "sh",
        "-c",
        "tty; stty size; [ /dev/console -ef /dev/pts/0 ] && echo console-is-the-pty; echo done",
    ]);
    bundle.config["process"]["terminal"] = json!(true);
    bundle.config["process"]["consoleSize"] = json!({"height": 33, "width": 111});
    bundle.save();
    let sock = bundle.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let id = unique("tty");
    let b = bundle.path().to_str().unwrap().to_string();
    let s = sock.to_str().unwrap().to_string();
    let id2 = id.clone();
    let root = rt.root.path().to_path_buf();
    let create = std::thread::spawn(move || {
        output_via_files(
            std::process::Command::new(CORRAL)
                .arg("--root")
                .arg(root)
                .args(["create", "--bundle", &b, "--console-socket", &s, &id2]),
        )
    });
    let master = receive_master(&listener);
    let out = create.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rt.run(&["start", &id]).status.success());
    let text = read_until(&master, "done");
    assert!(text.contains("/dev/pts/0"), "{text:?}");
    assert!(text.contains("33 111"), "{text:?}");
    assert!(text.contains("console-is-the-pty"), "{text:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while rt.state(&id)["status"] != "stopped" {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(rt.run(&["delete", &id]).status.success());
    rt.assert_nothing_left(&id, bundle.path());
}

#[test]
fn foreground_run_with_terminal_proxies_stdio() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let mut bundle = Bundle::new(&["sh"]);
    bundle.config["process"]["terminal"] = json!(true);
    bundle.save();
    let id = unique("fgtty");
    let mut child = rt
        .cmd()
        .args(["run", "--bundle", bundle.path().to_str().unwrap(), &id])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo in-$((6*7)); tty; exit 4\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("in-42"), "{text}");
    assert!(text.contains("/dev/pts/0"), "{text}");
    rt.assert_nothing_left(&id, bundle.path());
}
