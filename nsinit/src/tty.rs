//! The calling side of `nsinit exec --tty`.
//!
//! The library gives the container a pseudo terminal: its slave is the
//! process's stdin, stdout and stderr and `/dev/console`, and the process is
//! the leader of a new session with the slave as its controlling terminal.
//! This module connects the pty's master to our own stdio:
//!
//! - [`Session::begin`] puts our stdin into raw mode when it is a terminal, so
//!   every key (Ctrl-C, Ctrl-Z, ^D, ^\, arrows) reaches the container's
//!   terminal untouched and its line discipline interprets it for the
//!   container's foreground process group, exactly as on a normal terminal.
//!   Dropping the session restores the original mode (on every return path;
//!   a panic restores it through a panic hook before the message is printed,
//!   and again while unwinding).
//! - The size of the outer terminal (the first of stdin, stdout, stderr that
//!   is a terminal) is given to the pty at start ([`Session::size`]) and
//!   copied again on every SIGWINCH; the kernel then signals the container's
//!   foreground process group itself, so SIGWINCH is not forwarded.
//! - [`Relay`] copies stdin → master and master → stdout with `poll` and
//!   buffers: no side waits on the other, and a full buffer only stops
//!   reading from its source (a slow consumer slows the producer down, as a
//!   pipe does, but never deadlocks the relay, the signals or the wait).
//!   Our stdin and stdout are reopened through `/proc/self/fd` with
//!   `O_NONBLOCK`: the flag then belongs to our own open file description and
//!   never leaks into the shell that started us (sockets use `MSG_DONTWAIT`,
//!   regular files do not block anyway).
//! - **stdin EOF** (piped input, `--tty` without a terminal): a pty cannot be
//!   half-closed, so the relay does what a user at a terminal does and types
//!   the terminal's EOF character (`VEOF`, normally ^D), each time the
//!   program has read everything sent before (the slave's input queue is
//!   empty, seen through a second slave fd from `TIOCGPTPEER`):
//!   - the first time twice when the last line was not terminated (the first
//!     ^D only ends the pending line);
//!   - while the terminal is in canonical mode, again whenever the previous
//!     one was read, so every later read sees EOF as with a closed pipe
//!     (`echo cat | nsinit exec -t ... sh`: `cat` gets EOF, then the shell);
//!   - once the terminal is in non-canonical ("raw") mode, one last time and
//!     then no more: ^D is a key there (an editor would take it for one; a
//!     line editor such as the shell's takes it for EOF on an empty line).
//!     This also covers a ^D that arrived in canonical mode while the shell
//!     was running a command and was read after the shell's line editor had
//!     switched to raw mode (the kernel then delivers it as a NUL byte).
//!
//!   Only one ^D is ever pending, so a program that does not read its input
//!   is not flooded.
//! - When the process has exited, the relay drains the master until it
//!   reports EIO (nobody holds the slave any more). A process left behind
//!   that still holds the slave (a background job of a joined shell) would
//!   keep it open: the drain then stops after 100 ms of silence, or 2 s.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::MsgFlags;
use nix::sys::termios::{self, SetArg, SpecialCharacterIndices};

use crate::signals::WaitHook;

/// Most bytes buffered in each direction before reading from the source stops.
const BUFFER_CAP: usize = 64 * 1024;
/// Largest single read.
const CHUNK: usize = 16 * 1024;
/// How often the relay checks whether the program has read its input while an
/// EOF is owed: first after this long...
const EOF_POLL_MIN: Duration = Duration::from_millis(5);
/// ...then backing off to this, while the input stays unread.
const EOF_POLL_MAX: Duration = Duration::from_millis(100);
/// After the process exited: stop draining after this long without output...
const DRAIN_QUIET: Duration = Duration::from_millis(100);
/// ...or after this long in all, while something else still holds the slave.
const DRAIN_MAX: Duration = Duration::from_secs(2);
/// The EOF character when the terminal has none configured (^D).
const DEFAULT_VEOF: u8 = 4;

/// The termios our stdin had before raw mode, for the panic hook and
/// [`Session`]'s drop (whichever comes first restores it).
static SAVED_TERMIOS: Mutex<Option<libc::termios>> = Mutex::new(None);
static PANIC_HOOK: Once = Once::new();

/// One of our standard streams.
fn stdio(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: fds 0, 1 and 2 are never closed by nsinit, so the borrow cannot
    // outlive them. (If one was closed when we were executed, every call on it
    // fails with EBADF, which each caller handles.)
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Restores the termios saved by [`Session::begin`], once.
fn restore_saved_termios() {
    let saved = match SAVED_TERMIOS.lock() {
        Ok(mut g) => g.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    if let Some(t) = saved {
        // SAFETY: tcsetattr on fd 0 with a pointer to a termios we own. A
        // failure (the terminal hung up) leaves nothing to restore.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSADRAIN, &t) };
    }
}

/// Restores the terminal before a panic message is printed (the message then
/// starts on its own line and the user's shell works again).
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_saved_termios();
            previous(info);
        }));
    });
}

/// Reads the window size of terminal `fd` (None when it is not a terminal or
/// has no size).
pub fn window_size(fd: BorrowedFd<'_>) -> Option<libc::winsize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into `ws`, a valid local.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && (ws.ws_row > 0 || ws.ws_col > 0)).then_some(ws)
}

/// Sets the window size of terminal `fd` (on a pty master: of its slave; the
/// kernel then sends SIGWINCH to the slave's foreground process group).
fn set_window_size(fd: BorrowedFd<'_>, ws: &libc::winsize) -> Result<(), Errno> {
    // SAFETY: TIOCSWINSZ reads one `winsize` from a valid reference.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws as *const libc::winsize) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// The calling side of a `--tty` session: our stdin in raw mode (when it is
/// a terminal) and the outer terminal whose size the container's follows.
/// Dropping it restores the terminal's original mode.
pub struct Session {
    /// True when this session put stdin into raw mode (and must restore it).
    raw: bool,
    /// The outer terminal (first of stdin, stdout, stderr that is one).
    outer: Option<BorrowedFd<'static>>,
}

impl Session {
    /// Starts a session: finds the outer terminal and puts stdin into raw mode
    /// when it is a terminal. Call it after the signals are blocked, so a
    /// resize that comes after the size is read is not lost.
    pub fn begin() -> Result<Session, String> {
        let outer = [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO]
            .into_iter()
            .map(stdio)
            .find(|fd| fd.is_terminal());
        let stdin = stdio(libc::STDIN_FILENO);
        if !stdin.is_terminal() {
            return Ok(Session { raw: false, outer });
        }
        let saved = termios::tcgetattr(stdin)
            .map_err(|e| format!("set up the terminal: tcgetattr on stdin: {e}"))?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        install_panic_hook();
        match SAVED_TERMIOS.lock() {
            Ok(mut g) => *g = Some(saved.into()),
            Err(poisoned) => *poisoned.into_inner() = Some(saved.into()),
        }
        // From here on the session exists, so its drop restores the mode even
        // when setting it fails halfway.
        let session = Session { raw: true, outer };
        termios::tcsetattr(stdin, SetArg::TCSADRAIN, &raw)
            .map_err(|e| format!("set up the terminal: tcsetattr (raw mode) on stdin: {e}"))?;
        Ok(session)
    }

    /// The size of the outer terminal as (rows, columns), for
    /// `Process::terminal_size`.
    pub fn size(&self) -> Option<(u16, u16)> {
        self.outer
            .and_then(window_size)
            .map(|ws| (ws.ws_row, ws.ws_col))
    }

    /// A relay between our stdio and the pty `master`.
    pub fn relay(&self, master: OwnedFd) -> Relay {
        Relay::new(master, self.outer)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.raw {
            restore_saved_termios();
        }
    }
}

/// How an endpoint is read or written without blocking.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// A regular file or block device: never blocks.
    File,
    /// A socket: `recv`/`send` with `MSG_DONTWAIT`.
    Socket,
    /// Our own nonblocking open file description.
    Nonblocking,
    /// A shared blocking stream that could not be reopened: one read per
    /// POLLIN, writes of at most `PIPE_BUF` per POLLOUT.
    Blocking,
}

/// Our stdin or stdout as the relay uses it.
#[derive(Debug)]
struct Endpoint {
    /// Set when the stream was reopened (then `fd` is this one).
    owned: Option<OwnedFd>,
    fd: RawFd,
    kind: Kind,
}

impl Endpoint {
    /// Prepares stdio stream `fd` for nonblocking use; None when it is closed.
    fn open(fd: RawFd, write: bool) -> Option<Endpoint> {
        let st = nix::sys::stat::fstat(fd).ok()?;
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFREG | libc::S_IFBLK => Kind::File,
            libc::S_IFSOCK => Kind::Socket,
            _ => Kind::Blocking,
        };
        if kind != Kind::Blocking {
            return Some(Endpoint {
                owned: None,
                fd,
                kind,
            });
        }
        // A terminal, pipe or fifo: a new open file description of the same
        // object, nonblocking without touching the one we share.
        let reopened = OpenOptions::new()
            .read(!write)
            .write(write)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(format!("/proc/self/fd/{fd}"));
        match reopened {
            Ok(f) => {
                let owned = OwnedFd::from(f);
                Some(Endpoint {
                    fd: owned.as_raw_fd(),
                    owned: Some(owned),
                    kind: Kind::Nonblocking,
                })
            }
            Err(_) => Some(Endpoint {
                owned: None,
                fd,
                kind: Kind::Blocking,
            }),
        }
    }

    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.owned {
            Some(f) => f.as_fd(),
            None => stdio(self.fd),
        }
    }

    /// Whether a write may be tried without a POLLOUT first.
    fn never_blocks(&self) -> bool {
        self.kind != Kind::Blocking
    }

    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self.kind {
            Kind::Socket => nix::sys::socket::recv(self.fd, buf, MsgFlags::MSG_DONTWAIT),
            _ => nix::unistd::read(self.fd, buf),
        }
    }

    fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        match self.kind {
            Kind::Socket => nix::sys::socket::send(
                self.fd,
                buf,
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
            ),
            Kind::Blocking => {
                nix::unistd::write(self.as_fd(), &buf[..buf.len().min(libc::PIPE_BUF)])
            }
            Kind::File | Kind::Nonblocking => nix::unistd::write(self.as_fd(), buf),
        }
    }
}

/// Where stdin's EOF stands (see the module's documentation).
#[derive(Debug)]
enum Eof {
    /// stdin is still open.
    No,
    /// stdin hit EOF: an EOF character is sent each time the program has
    /// read what came before.
    Owed {
        /// A second fd on the slave, to see its input queue (None when the
        /// kernel cannot give one: then one EOF is sent at once).
        peer: Option<OwnedFd>,
        /// None have been sent yet.
        first: bool,
        /// The current interval between checks.
        interval: Duration,
    },
    /// No more to send (or pointless: the terminal is gone).
    Done,
}

/// Which fd a poll entry is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Input,
    Master,
    Output,
}

/// Copies our stdin to the pty master and the master to our stdout, and
/// follows the outer terminal's size; plugged into the wait as a
/// [`WaitHook`].
#[derive(Debug)]
pub struct Relay {
    master: OwnedFd,
    /// Our stdin; None once it hit EOF or failed.
    input: Option<Endpoint>,
    /// Our stdout; None once it failed (the output is then discarded).
    output: Option<Endpoint>,
    to_master: Vec<u8>,
    to_output: Vec<u8>,
    /// Nobody holds the slave any more (reads give EIO): nothing to read,
    /// nobody to write to.
    master_closed: bool,
    eof: Eof,
    /// The last byte sent to the master.
    last_input: Option<u8>,
    outer: Option<BorrowedFd<'static>>,
}

impl Relay {
    fn new(master: OwnedFd, outer: Option<BorrowedFd<'static>>) -> Relay {
        // The master is ours alone: making it nonblocking affects nobody else.
        // Should it fail, reads and writes still only happen after poll
        // reported them ready.
        if let Ok(flags) = fcntl(master.as_raw_fd(), FcntlArg::F_GETFL) {
            let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
            let _ = fcntl(master.as_raw_fd(), FcntlArg::F_SETFL(flags));
        }
        Relay {
            master,
            input: Endpoint::open(libc::STDIN_FILENO, false),
            output: Endpoint::open(libc::STDOUT_FILENO, true),
            to_master: Vec::new(),
            to_output: Vec::new(),
            master_closed: false,
            eof: Eof::No,
            last_input: None,
            outer,
        }
    }

    /// The fds to poll and what for, in a fixed order (see [`Role`]).
    fn interest(&self) -> Vec<(Role, PollFlags)> {
        let mut v = Vec::with_capacity(3);
        if self.input.is_some() && self.to_master.len() < BUFFER_CAP {
            v.push((Role::Input, PollFlags::POLLIN));
        }
        if !self.master_closed {
            let mut m = PollFlags::empty();
            if self.to_output.len() < BUFFER_CAP {
                m |= PollFlags::POLLIN;
            }
            if !self.to_master.is_empty() {
                m |= PollFlags::POLLOUT;
            }
            if !m.is_empty() {
                v.push((Role::Master, m));
            }
        }
        if self.output.is_some() && !self.to_output.is_empty() {
            v.push((Role::Output, PollFlags::POLLOUT));
        }
        v
    }

    fn fd_of(&self, role: Role) -> Option<BorrowedFd<'_>> {
        match role {
            Role::Input => self.input.as_ref().map(Endpoint::as_fd),
            Role::Master => Some(self.master.as_fd()),
            Role::Output => self.output.as_ref().map(Endpoint::as_fd),
        }
    }

    /// stdin → buffer.
    fn read_input(&mut self) {
        let Some(input) = &self.input else { return };
        let room = BUFFER_CAP.saturating_sub(self.to_master.len()).min(CHUNK);
        if room == 0 {
            return;
        }
        let mut buf = vec![0u8; room];
        match input.read(&mut buf) {
            Ok(0) => self.input_ended(),
            Ok(n) => self.to_master.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            // EIO: our terminal hung up. Anything else: stdin is unusable.
            Err(_) => self.input_ended(),
        }
    }

    fn input_ended(&mut self) {
        self.input = None;
        if matches!(self.eof, Eof::No) {
            self.eof = Eof::Owed {
                peer: open_peer(&self.master),
                first: true,
                interval: EOF_POLL_MIN,
            };
        }
    }

    /// Buffer → master.
    fn write_master(&mut self) {
        while !self.to_master.is_empty() && !self.master_closed {
            match nix::unistd::write(self.master.as_fd(), &self.to_master) {
                Ok(0) => break,
                Ok(n) => {
                    self.last_input = self.to_master.get(n - 1).copied();
                    self.to_master.drain(..n);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => break,
                Err(_) => {
                    // Nobody holds the slave: the input has nowhere to go.
                    self.to_master.clear();
                    self.input = None;
                    self.eof = Eof::Done;
                    break;
                }
            }
        }
    }

    /// Master → buffer. Returns the number of bytes read.
    fn read_master(&mut self) -> usize {
        let room = BUFFER_CAP.saturating_sub(self.to_output.len()).min(CHUNK);
        if room == 0 || self.master_closed {
            return 0;
        }
        let mut buf = vec![0u8; room];
        match nix::unistd::read(self.master.as_raw_fd(), &mut buf) {
            Ok(0) => {
                self.master_closed = true;
                0
            }
            Ok(n) => {
                if self.output.is_some() {
                    self.to_output.extend_from_slice(&buf[..n]);
                }
                n
            }
            Err(Errno::EAGAIN | Errno::EINTR) => 0,
            // EIO: every slave fd is closed. Anything else: the master is
            // unusable; stop polling it either way.
            Err(_) => {
                self.master_closed = true;
                self.to_master.clear();
                0
            }
        }
    }

    /// Buffer → stdout. Returns the number of bytes written.
    fn write_output(&mut self) -> usize {
        let Some(output) = &self.output else {
            self.to_output.clear();
            return 0;
        };
        let mut written = 0;
        while !self.to_output.is_empty() {
            match output.write(&self.to_output) {
                Ok(0) => break,
                Ok(n) => {
                    self.to_output.drain(..n);
                    written += n;
                    if output.kind == Kind::Blocking {
                        // Only one write per POLLOUT may be done safely.
                        break;
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => break,
                Err(_) => {
                    // EPIPE, EIO (our terminal hung up): the output is lost;
                    // keep draining the master so the container never blocks.
                    self.output = None;
                    self.to_output.clear();
                    break;
                }
            }
        }
        written
    }

    /// Sends an owed EOF character once the program has read everything
    /// before it.
    fn send_eof_when_due(&mut self) {
        let Eof::Owed {
            peer,
            first,
            interval,
        } = &mut self.eof
        else {
            return;
        };
        if !self.to_master.is_empty() {
            return;
        }
        if self.master_closed {
            self.eof = Eof::Done;
            return;
        }
        if let Some(peer) = peer {
            let mut fds = [PollFd::new(peer.as_fd(), PollFlags::POLLIN)];
            // Readable slave: the program has not read all its input yet.
            if matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0) {
                *interval = (*interval * 2).min(EOF_POLL_MAX);
                return;
            }
        }
        // tcgetattr on the master reads the slave's settings.
        let slave = termios::tcgetattr(self.master.as_fd()).ok();
        let veof = slave
            .as_ref()
            .map(|t| t.control_chars[SpecialCharacterIndices::VEOF as usize])
            .filter(|&c| c != 0)
            .unwrap_or(DEFAULT_VEOF);
        let canonical = slave
            .as_ref()
            .is_some_and(|t| t.local_flags.contains(termios::LocalFlags::ICANON));
        // The first EOF character only ends a pending (unterminated) line.
        let line_open = *first && !matches!(self.last_input, None | Some(b'\n' | b'\r'));
        self.to_master.push(veof);
        if line_open {
            self.to_master.push(veof);
        }
        *first = false;
        *interval = EOF_POLL_MIN;
        if peer.is_none() || !canonical {
            // The last one (dropping the peer also lets the master report
            // EIO at the end).
            self.eof = Eof::Done;
        }
        self.write_master();
    }

    /// Copies the outer terminal's size to the pty.
    fn copy_window_size(&self) {
        if let Some(ws) = self.outer.and_then(window_size) {
            let _ = set_window_size(self.master.as_fd(), &ws);
        }
    }
}

/// A second fd on the slave of `master` (TIOCGPTPEER, Linux 4.13), used only
/// to see whether the slave's input queue is empty. None when unavailable:
/// the EOF is then sent at once.
fn open_peer(master: &OwnedFd) -> Option<OwnedFd> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new fd.
    let fd = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh fd that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl WaitHook for Relay {
    fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        self.interest()
            .into_iter()
            .filter_map(|(role, ev)| self.fd_of(role).map(|fd| (fd, ev)))
            .collect()
    }

    fn timeout(&self) -> Option<Duration> {
        match &self.eof {
            Eof::Owed { interval, .. } => Some(*interval),
            _ => None,
        }
    }

    fn ready(&mut self, revents: &[PollFlags]) {
        // The same state as when poll_fds() was called, so the same order.
        let roles = self.interest();
        let readable = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
        for ((role, _), ev) in roles.into_iter().zip(revents.iter().copied()) {
            if ev.is_empty() {
                continue;
            }
            match role {
                Role::Input => {
                    if ev.intersects(readable) {
                        self.read_input();
                    }
                    self.write_master();
                }
                Role::Master => {
                    if ev.contains(PollFlags::POLLOUT) {
                        self.write_master();
                    }
                    if ev.intersects(readable) {
                        self.read_master();
                    }
                    if self.output.as_ref().is_some_and(Endpoint::never_blocks) {
                        self.write_output();
                    }
                }
                Role::Output => {
                    if ev.intersects(PollFlags::POLLOUT | PollFlags::POLLERR | PollFlags::POLLHUP) {
                        self.write_output();
                    }
                }
            }
        }
        self.send_eof_when_due();
    }

    fn signal(&mut self, signo: i32) -> bool {
        if signo == libc::SIGWINCH {
            self.copy_window_size();
            return true;
        }
        false
    }

    fn finish(&mut self) {
        // The process has ended: its input is moot, and our own slave fd
        // would keep the master from reporting EIO.
        self.eof = Eof::Done;
        self.input = None;
        self.to_master.clear();
        let start = Instant::now();
        loop {
            if self.output.is_none() {
                self.to_output.clear();
            }
            let read_master = !self.master_closed
                && self.to_output.len() < BUFFER_CAP
                && start.elapsed() < DRAIN_MAX;
            let write_out = self.output.is_some() && !self.to_output.is_empty();
            if !read_master && !write_out {
                return;
            }
            let mut fds = Vec::with_capacity(2);
            if read_master {
                fds.push(PollFd::new(self.master.as_fd(), PollFlags::POLLIN));
            }
            if let (true, Some(out)) = (write_out, &self.output) {
                fds.push(PollFd::new(out.as_fd(), PollFlags::POLLOUT));
            }
            // While reading the master, a quiet period ends the drain; the
            // output alone is waited for as long as it takes (like any
            // program writing to a slow reader).
            let timeout = if read_master {
                // DRAIN_QUIET is 100 ms: the cast cannot truncate.
                PollTimeout::from(DRAIN_QUIET.as_millis() as u16)
            } else {
                PollTimeout::NONE
            };
            let n = match poll(&mut fds, timeout) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(_) => return,
            };
            let revents: Vec<PollFlags> = fds
                .iter()
                .map(|f| f.revents().unwrap_or(PollFlags::empty()))
                .collect();
            drop(fds);
            if n == 0 {
                // Silence: whoever still holds the slave is not the process we
                // waited for. Flush what we have and stop.
                self.master_closed = true;
                continue;
            }
            let mut i = 0;
            if read_master {
                if !revents[0].is_empty() {
                    self.read_master();
                }
                i = 1;
            }
            let out_ready = write_out && revents.get(i).is_some_and(|e| !e.is_empty());
            if out_ready || self.output.as_ref().is_some_and(Endpoint::never_blocks) {
                self.write_output();
            }
        }
    }
}
