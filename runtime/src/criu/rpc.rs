//! `criu swrk`: spawning it and the request / notification / response
//! conversation over its `SOCK_SEQPACKET` socket.
//!
//! One [`Session`] is one `criu` process. Requests sent with `keep_open`
//! (the version check, a feature check) leave it waiting for the next one;
//! the last request (dump, pre-dump, restore) ends it. While CRIU works it
//! sends `NOTIFY` messages (with `notify_scripts` set) that the caller's
//! handler answers; a failed answer makes CRIU abort, and that answer's error
//! is what the caller gets.

use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::sys::socket::{self, ControlMessageOwned, MsgFlags};
use protobuf::Message;
use rust_criu::rust_criu_protobuf::rpc::{
    Criu_features, Criu_opts, Criu_req, Criu_req_type, Criu_resp,
};

use super::{failure_message, kernel_version, required_version, CriuError, CriuVersion};
use crate::error::{Context, SysError};

/// File descriptors handed to the `criu` process. CRIU's RPC names them by
/// number, so each is duplicated to a number >= 3 (never one of the stdio
/// numbers the child gets its own streams on) and stays close-on-exec here;
/// only the `criu` child clears the flag, so no other child of a
/// multithreaded caller can inherit them.
#[derive(Debug, Default)]
pub(crate) struct FdPass {
    fds: Vec<OwnedFd>,
}

impl FdPass {
    /// Adds `fd`; returns the number the criu process knows it by.
    pub(crate) fn add(&mut self, fd: BorrowedFd<'_>) -> Result<i32, SysError> {
        let dup = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))
            .ctx("pass a file descriptor to criu", "fcntl F_DUPFD_CLOEXEC")?;
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else
        // owns.
        self.fds.push(unsafe { OwnedFd::from_raw_fd(dup) });
        Ok(dup)
    }

    fn raw(&self) -> Vec<RawFd> {
        self.fds.iter().map(|f| f.as_raw_fd()).collect()
    }
}

/// The final request of a session.
pub(crate) struct Request {
    pub kind: Criu_req_type,
    pub opts: Criu_opts,
}

/// A running `criu swrk`.
pub(crate) struct Session {
    child: Option<Child>,
    sock: OwnedFd,
    /// criu's stdout and stderr (a memfd): its last words when it dies, and
    /// the chatter of the tools it runs (`ip`, `iptables-restore`) kept off
    /// the caller's terminal.
    output: File,
    path: PathBuf,
    operation: String,
}

/// A notification handler: `(script, pid, fd sent with it)`; an `Err`
/// makes CRIU abort.
pub(crate) type NotifyHandler<'a> =
    dyn FnMut(&str, i32, Option<OwnedFd>) -> Result<(), String> + 'a;

impl Session {
    /// Spawns `path swrk <fd>`, handing it the fds of `pass`.
    pub(crate) fn start(path: &Path, operation: &str, pass: &FdPass) -> Result<Session, CriuError> {
        let proto = |step: &str, detail: String| CriuError::Protocol {
            operation: operation.to_string(),
            step: step.to_string(),
            detail,
        };
        let (ours, theirs) = socket::socketpair(
            socket::AddressFamily::Unix,
            socket::SockType::SeqPacket,
            None,
            socket::SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| proto("create the socket for criu", e.desc().to_string()))?;
        let output = nix::sys::memfd::memfd_create(
            c"criu-output",
            nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
        )
        .map_err(|e| proto("create criu's output file", e.desc().to_string()))?;
        let output = File::from(output);
        let out2 = output
            .try_clone()
            .map_err(|e| proto("create criu's output file", e.to_string()))?;
        let out3 = output
            .try_clone()
            .map_err(|e| proto("create criu's output file", e.to_string()))?;

        let mut keep = pass.raw();
        keep.push(theirs.as_raw_fd());
        let mut cmd = Command::new(path);
        cmd.arg("swrk")
            .arg(theirs.as_raw_fd().to_string())
            .stdin(Stdio::null())
            .stdout(out2)
            .stderr(out3);
        // SAFETY: the closure runs in the forked child before exec and only
        // makes async-signal-safe calls (fcntl, sigemptyset, sigprocmask) on
        // memory prepared before the fork (`keep`); it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                for fd in &keep {
                    if libc::fcntl(*fd, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                // The caller may block signals it forwards; criu must not
                // inherit that (its restored tasks get their own masks from
                // the images anyway).
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| CriuError::Missing {
            path: path.to_path_buf(),
            reason: match e.kind() {
                std::io::ErrorKind::NotFound => "no such file (or not in PATH)".to_string(),
                _ => e.to_string(),
            },
            needed: required_version(kernel_version()),
        })?;
        drop(theirs);
        Ok(Session {
            child: Some(child),
            sock: ours,
            output,
            path: path.to_path_buf(),
            operation: operation.to_string(),
        })
    }

    fn proto(&self, step: &str, detail: impl Into<String>) -> CriuError {
        CriuError::Protocol {
            operation: self.operation.clone(),
            step: step.to_string(),
            detail: detail.into(),
        }
    }

    fn send(&mut self, req: &Criu_req) -> Result<(), CriuError> {
        let bytes = req
            .write_to_bytes()
            .map_err(|e| self.proto("encode the request to criu", e.to_string()))?;
        loop {
            match socket::send(self.sock.as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    let words = self.last_words();
                    return Err(
                        self.proto("send the request to criu", format!("{}{words}", e.desc()))
                    );
                }
            }
        }
    }

    /// Receives one message and the fd that may come with it.
    fn recv(&mut self) -> Result<(Criu_resp, Option<OwnedFd>), CriuError> {
        let fd = self.sock.as_raw_fd();
        let len = loop {
            match socket::recv(fd, &mut [], MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC) {
                Ok(n) => break n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(self.proto("read the reply of criu", e.desc())),
            }
        };
        if len == 0 {
            let words = self.last_words();
            return Err(self.proto(
                "read the reply of criu",
                format!(
                    "criu ({}) ended without a reply{words}",
                    self.path.display()
                ),
            ));
        }
        let mut buf = vec![0u8; len];
        let mut cmsg = nix::cmsg_space!(RawFd);
        let (n, passed) = loop {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            match socket::recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
                Ok(msg) => {
                    let mut passed = None;
                    for c in msg.cmsgs().into_iter().flatten() {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            for f in fds {
                                // SAFETY: SCM_RIGHTS installed a new fd in
                                // our table; nothing else owns it.
                                let owned = unsafe { OwnedFd::from_raw_fd(f) };
                                passed.get_or_insert(owned);
                            }
                        }
                    }
                    break (msg.bytes, passed);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(self.proto("read the reply of criu", e.desc())),
            }
        };
        let resp = Criu_resp::parse_from_bytes(&buf[..n])
            .map_err(|e| self.proto("decode the reply of criu", e.to_string()))?;
        Ok((resp, passed))
    }

    /// Sends `req` and returns the reply of the same type (no notifications
    /// are expected: version and feature checks).
    fn simple(&mut self, req: Criu_req, step: &str) -> Result<Criu_resp, CriuError> {
        let kind = req.type_();
        self.send(&req)?;
        let (resp, _) = self.recv()?;
        if resp.type_() != kind {
            return Err(self.proto(step, format!("unexpected reply {:?}", resp.type_())));
        }
        if !resp.success() {
            let words = self.last_words();
            let msg = if resp.cr_errmsg().is_empty() {
                String::new()
            } else {
                format!(": {}", resp.cr_errmsg())
            };
            return Err(self.proto(
                step,
                format!("criu said no (errno {}{msg}){words}", resp.cr_errno()),
            ));
        }
        Ok(resp)
    }

    /// The VERSION request.
    pub(crate) fn version(&mut self, keep_open: bool) -> Result<CriuVersion, CriuError> {
        let mut req = Criu_req::new();
        req.set_type(Criu_req_type::VERSION);
        req.set_keep_open(keep_open);
        let resp = self.simple(req, "ask criu for its version")?;
        let v = &resp.version;
        let mut version = CriuVersion::new(
            v.major_number().max(0) as u32,
            v.minor_number().max(0) as u32,
            v.sublevel().max(0) as u32,
        );
        // A build from git between releases: as good as the next minor.
        if v.has_gitid() && !v.gitid().is_empty() {
            version = CriuVersion::new(version.major, version.minor + 1, 0);
        }
        Ok(version)
    }

    /// The FEATURE_CHECK request for memory tracking.
    pub(crate) fn memory_tracking(&mut self, keep_open: bool) -> Result<bool, CriuError> {
        let mut req = Criu_req::new();
        req.set_type(Criu_req_type::FEATURE_CHECK);
        req.set_keep_open(keep_open);
        let mut f = Criu_features::new();
        f.set_mem_track(true);
        req.features = protobuf::MessageField::some(f);
        let resp = self.simple(req, "ask criu about memory tracking")?;
        Ok(resp.features.mem_track())
    }

    /// Sends the final request, answers its notifications with `on_notify`,
    /// and returns the successful reply. A failure is [`CriuError::Failed`]
    /// with the first error of CRIU's `log` (or the handler's error, when a
    /// notification failed).
    pub(crate) fn run(
        &mut self,
        request: Request,
        log: &Path,
        on_notify: &mut NotifyHandler<'_>,
    ) -> Result<Criu_resp, CriuError> {
        let kind = request.kind;
        let mut req = Criu_req::new();
        req.set_type(kind);
        req.opts = protobuf::MessageField::some(request.opts);
        self.send(&req)?;
        let mut notify_error: Option<String> = None;
        loop {
            let (resp, fd) = self.recv()?;
            if resp.type_() == Criu_req_type::NOTIFY {
                let script = resp.notify.script().to_string();
                let result = on_notify(&script, resp.notify.pid(), fd);
                let mut ack = Criu_req::new();
                ack.set_type(Criu_req_type::NOTIFY);
                ack.set_notify_success(result.is_ok());
                if let Err(e) = result {
                    notify_error = Some(format!("{script}: {e}"));
                }
                self.send(&ack)?;
                continue;
            }
            if resp.type_() != kind {
                return Err(self.proto(
                    "read the reply of criu",
                    format!("unexpected reply {:?}", resp.type_()),
                ));
            }
            if resp.success() {
                return Ok(resp);
            }
            let message = match notify_error {
                Some(e) => e,
                None => failure_message(log, resp.cr_errmsg()),
            };
            return Err(CriuError::Failed {
                operation: self.operation.clone(),
                message,
                errno: resp.cr_errno(),
                log: log.to_path_buf(),
            });
        }
    }

    /// Waits for criu to exit (after its last reply).
    pub(crate) fn finish(mut self) -> Result<(), CriuError> {
        if let Some(mut child) = self.child.take() {
            let status = child
                .wait()
                .map_err(|e| self.proto("wait for criu", e.to_string()))?;
            if !status.success() {
                let words = self.last_words();
                return Err(self.proto("wait for criu", format!("criu ended with {status}{words}")));
            }
        }
        Ok(())
    }

    /// `: <last lines criu printed>`, or nothing.
    fn last_words(&mut self) -> String {
        // Let a dying criu finish writing.
        if let Some(child) = self.child.as_mut() {
            for _ in 0..50 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        let mut text = String::new();
        let _ = self.output.rewind();
        let _ = (&self.output).take(1 << 16).read_to_string(&mut text);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
        let status = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        if tail.is_empty() {
            status
        } else {
            format!("{status}: {tail}")
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Ends the conversation (criu sees EOF); a criu that does not
            // go is killed.
            let _ = socket::shutdown(self.sock.as_raw_fd(), socket::Shutdown::Both);
            for _ in 0..250 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
