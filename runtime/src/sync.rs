//! The parent/child protocol over the sync socketpair.
//!
//! Every frame is `[kind: u32 LE][len: u32 LE][payload]`. Two kinds are written
//! by the freshly cloned child *before* it executes the init (where only raw
//! system calls are allowed, so their payloads are fixed binary records); every
//! other message is a [`Message`] serialised as JSON.
//!
//! The conversation of a new container:
//!
//! ```text
//! parent                                   child
//!   clone ─────────────────────────────────▶ (stage 1: setns into joined namespaces,
//!                                              clone stage 2 if needed)
//!         ◀──────────────────── FRAME_PID      (only when a second stage was cloned)
//!   uid/gid maps, 1 wake byte ─────────────▶ (waits only with a new user namespace)
//!   cgroups, veth ...                        execve(nsinit init)
//!   Bootstrap ────────────────────────────▶
//!         ◀──────────────────── RunHooks     (only with prestart/createRuntime hooks)
//!   HooksDone ────────────────────────────▶
//!         ◀──────────────────── Ready        (setup done; init waits)
//!   Start ────────────────────────────────▶ (or the exec fifo for create/start)
//!         ◀──────────────────── EOF          (execve of the user program closed it)
//! ```
//! Any failure on the child's side is sent as [`Message::Error`] (or a
//! `FRAME_PRE_ERROR` before exec) and the child exits.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;

use serde::{Deserialize, Serialize};

use crate::error::{SysError, SysResult};
use crate::init::InitRequest;

/// A JSON [`Message`].
pub const FRAME_JSON: u32 = 1;
/// The pid of the second stage, written before exec (payload: i32 LE).
pub const FRAME_PID: u32 = 2;
/// A failure before exec (payload: step code i32 LE, errno i32 LE).
pub const FRAME_PRE_ERROR: u32 = 3;

/// The largest JSON message accepted (a config with a big seccomp profile fits).
const MAX_MESSAGE: u32 = 64 << 20;

/// A message of the protocol after the init was executed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Parent → init: everything the init needs.
    Bootstrap(Box<InitRequest>),
    /// Init → parent: run the hooks that belong in the runtime's namespaces now.
    RunHooks,
    /// Parent → init: hooks ran.
    HooksDone,
    /// Init → parent: setup finished, waiting to exec.
    Ready,
    /// Parent → init: exec the user program now.
    Start,
    /// Init → parent: a step failed.
    Error(SysError),
}

/// A frame read from the socket.
#[derive(Debug)]
pub enum Frame {
    /// A JSON message.
    Message(Message),
    /// The pid of the second stage.
    Pid(i32),
    /// A failure before exec.
    PreExecError { step: i32, errno: i32 },
    /// The other side closed the socket.
    Eof,
}

/// Steps of the child before exec, as reported in `FRAME_PRE_ERROR`.
pub mod pre_exec_step {
    pub const SETNS: i32 = 1;
    pub const CLONE_STAGE2: i32 = 2;
    pub const WAIT_MAPS: i32 = 3;
    pub const SET_IDS: i32 = 4;
    pub const MOUNT_PRIVATE: i32 = 5;
    pub const GUARD_BIND: i32 = 6;
    pub const GUARD_RDONLY: i32 = 7;
    pub const FDS: i32 = 8;
    pub const EXEC: i32 = 9;
    pub const SIGMASK: i32 = 10;
    pub const SETSID: i32 = 11;

    /// Human words for a step code.
    pub fn describe(step: i32) -> &'static str {
        match step {
            SETNS => "join namespace (setns)",
            CLONE_STAGE2 => "clone into new namespaces",
            WAIT_MAPS => "wait for uid/gid maps",
            SET_IDS => "become root in the user namespace (setresuid/setresgid)",
            MOUNT_PRIVATE => "make mounts private (mount MS_SLAVE)",
            GUARD_BIND => "protect the runtime binary (bind mount)",
            GUARD_RDONLY => "protect the runtime binary (remount read-only)",
            FDS => "arrange file descriptors (dup2)",
            EXEC => "execute the init (execve)",
            SIGMASK => "reset the signal mask",
            SETSID => "create a session (setsid)",
            _ => "prepare the init",
        }
    }
}

/// One end of the sync channel.
#[derive(Debug)]
pub struct SyncChannel {
    stream: UnixStream,
}

impl SyncChannel {
    /// Wraps a connected stream socket.
    pub fn new(stream: UnixStream) -> SyncChannel {
        SyncChannel { stream }
    }

    /// A connected pair with close-on-exec set on both ends.
    pub fn pair() -> SysResult<(SyncChannel, UnixStream)> {
        let (a, b) = UnixStream::pair().map_err(|e| SysError::io("sync", "socketpair", &e))?;
        Ok((SyncChannel::new(a), b))
    }

    /// The underlying socket.
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// Sends a message.
    pub fn send(&mut self, msg: &Message) -> SysResult<()> {
        let body = serde_json::to_vec(msg)
            .map_err(|e| SysError::msg("sync: encode message", e.to_string()))?;
        let len = u32::try_from(body.len())
            .map_err(|_| SysError::msg("sync: encode message", "message too large"))?;
        let mut frame = Vec::with_capacity(body.len() + 8);
        frame.extend_from_slice(&FRAME_JSON.to_le_bytes());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&body);
        self.stream
            .write_all(&frame)
            .map_err(|e| SysError::io("sync: send message", "write", &e))
    }

    /// Writes one raw byte (the wake-up after the uid/gid maps are written).
    pub fn send_wake(&mut self) -> SysResult<()> {
        self.stream
            .write_all(&[1])
            .map_err(|e| SysError::io("sync: wake child", "write", &e))
    }

    /// Reads the next frame; `Frame::Eof` when the other side is gone.
    pub fn recv(&mut self) -> SysResult<Frame> {
        let mut head = [0u8; 8];
        match read_full(&mut self.stream, &mut head) {
            Ok(true) => {}
            Ok(false) => return Ok(Frame::Eof),
            Err(e) => return Err(SysError::io("sync: receive", "read", &e)),
        }
        let kind = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_MESSAGE {
            return Err(SysError::msg(
                "sync: receive",
                format!("frame of {len} bytes is too large"),
            ));
        }
        let mut body = vec![0u8; len as usize];
        match read_full(&mut self.stream, &mut body) {
            Ok(true) => {}
            Ok(false) => return Ok(Frame::Eof),
            Err(e) => return Err(SysError::io("sync: receive", "read", &e)),
        }
        let int = |i: usize| -> i32 {
            body.get(i..i + 4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(0)
        };
        match kind {
            FRAME_JSON => serde_json::from_slice(&body)
                .map(Frame::Message)
                .map_err(|e| SysError::msg("sync: decode message", e.to_string())),
            FRAME_PID => Ok(Frame::Pid(int(0))),
            FRAME_PRE_ERROR => Ok(Frame::PreExecError {
                step: int(0),
                errno: int(4),
            }),
            other => Err(SysError::msg(
                "sync: receive",
                format!("unknown frame kind {other}"),
            )),
        }
    }

    /// Reads the next JSON message; EOF and raw frames are errors naming `step`.
    pub fn recv_message(&mut self, step: &str) -> SysResult<Message> {
        match self.recv()? {
            Frame::Message(m) => Ok(m),
            Frame::Eof => Err(SysError::msg(
                step,
                "the other side closed the sync channel",
            )),
            other => Err(SysError::msg(step, format!("unexpected frame {other:?}"))),
        }
    }
}

/// Fills `buf`; `Ok(false)` on EOF before the first byte or in the middle.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut off = 0;
    while off < buf.len() {
        match r.read(&mut buf[off..]) {
            Ok(0) => return Ok(false),
            Ok(n) => off += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Encodes a fixed pre-exec frame into `buf` (no allocation: usable after clone).
pub fn encode_pre_frame(kind: u32, a: i32, b: i32, buf: &mut [u8; 16]) -> usize {
    buf[0..4].copy_from_slice(&kind.to_le_bytes());
    let len: u32 = if kind == FRAME_PID { 4 } else { 8 };
    buf[4..8].copy_from_slice(&len.to_le_bytes());
    buf[8..12].copy_from_slice(&a.to_le_bytes());
    buf[12..16].copy_from_slice(&b.to_le_bytes());
    8 + len as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trip() {
        let (mut a, b) = SyncChannel::pair().unwrap();
        let mut b = SyncChannel::new(b);
        a.send(&Message::Ready).unwrap();
        a.send(&Message::Error(SysError::new("x", "mount", 1)))
            .unwrap();
        assert!(matches!(b.recv().unwrap(), Frame::Message(Message::Ready)));
        match b.recv().unwrap() {
            Frame::Message(Message::Error(e)) => assert_eq!(e.errno, 1),
            other => panic!("{other:?}"),
        }
        drop(a);
        assert!(matches!(b.recv().unwrap(), Frame::Eof));
    }

    #[test]
    fn pre_exec_frames_decode() {
        let (a, b) = SyncChannel::pair().unwrap();
        let mut b = SyncChannel::new(b);
        let mut buf = [0u8; 16];
        let n = encode_pre_frame(FRAME_PID, 4242, 0, &mut buf);
        (&a.stream).write_all(&buf[..n]).unwrap();
        let n = encode_pre_frame(FRAME_PRE_ERROR, pre_exec_step::EXEC, 2, &mut buf);
        (&a.stream).write_all(&buf[..n]).unwrap();
        assert!(matches!(b.recv().unwrap(), Frame::Pid(4242)));
        assert!(matches!(
            b.recv().unwrap(),
            Frame::PreExecError { step: 9, errno: 2 }
        ));
    }
}
