//! The listening socket, bound here rather than by actix so that shutdown can shut its door
//! before it closes it.
//!
//! Closing a listening socket resets every connection the kernel has completed but the
//! server has not accepted yet. A proxy may already have sent a request on such a
//! connection; it cannot tell whether the instance began it, so it answers 502 rather than
//! resend it (nginx never resends a request it has sent, POST or GET, when it streams
//! request bodies). Under load that window is a few milliseconds at every shutdown.
//!
//! So shutdown first shuts the door ([`Door::shut`]): on Linux a socket filter makes the
//! listener drop every new SYN, so the kernel completes no new connection, while the
//! handshakes already under way still complete. The server keeps accepting for
//! [`DOOR_DRAIN`], taking what was queued, and only then stops and closes a socket whose
//! queue is empty. A client whose SYN was dropped sends it again after its retransmission
//! timeout (a second) and finds the port closed: a refused connection, which a proxy
//! passes to the next instance. Elsewhere the door cannot be shut apart from the socket and
//! shutdown closes it at once, as before.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How long the server keeps accepting after the door is shut: long enough for the accept
/// loop to take what is queued and for a handshake begun just before to complete on a
/// network inside one data centre.
pub const DOOR_DRAIN: Duration = Duration::from_millis(200);

/// Pending connections the kernel queues before the server accepts them (actix's default).
const BACKLOG: i32 = 1024;

/// Binds `addr` as actix would (address reuse, non-blocking, the same backlog) and returns
/// the listener for the server and the door to shut before stopping it.
///
/// # Errors
/// When the address cannot be bound.
pub fn bind(addr: SocketAddr) -> io::Result<(TcpListener, Door)> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    let door = Door {
        socket: Mutex::new(Some(socket.try_clone()?)),
    };
    Ok((socket.into(), door))
}

/// The listening socket's door: shut, it lets in no new connection while the socket stays
/// open for those already queued.
#[derive(Debug)]
pub struct Door {
    /// A second descriptor of the listening socket (a filter belongs to the socket), until
    /// [`Door::release`]: while it is open, the socket stays open too.
    socket: Mutex<Option<socket2::Socket>>,
}

impl Door {
    /// Shuts the door; returns whether this platform could (only Linux can).
    ///
    /// # Errors
    /// When the kernel refuses the filter.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn shut(&self) -> io::Result<bool> {
        let socket = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        match socket.as_ref() {
            Some(socket) => socket.attach_filter(&drop_new_connections())?,
            None => return Ok(false),
        }
        Ok(true)
    }

    /// Shuts the door; returns whether this platform could (only Linux can).
    ///
    /// # Errors
    /// Never here.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn shut(&self) -> io::Result<bool> {
        Ok(false)
    }

    /// Closes the door's own descriptor, so that the socket closes with the server's (and
    /// a late connection is refused rather than left waiting).
    pub fn release(&self) {
        drop(
            self.socket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }
}

/// A classic BPF program, run on each segment that reaches the listener (the data starts at
/// the TCP header): a segment with SYN set and ACK clear opens a new connection, and is
/// dropped; everything else (the last ACK of a handshake under way) passes.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn drop_new_connections() -> [socket2::SockFilter; 5] {
    use socket2::SockFilter;
    // Opcodes from linux/filter.h.
    const LOAD_BYTE_ABSOLUTE: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
    const AND_CONSTANT: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
    const JUMP_IF_EQUAL: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RETURN_CONSTANT: u16 = 0x06; // BPF_RET | BPF_K
    const TCP_FLAGS_OFFSET: u32 = 13;
    const SYN: u32 = 0x02;
    const ACK: u32 = 0x10;
    [
        SockFilter::new(LOAD_BYTE_ABSOLUTE, 0, 0, TCP_FLAGS_OFFSET),
        SockFilter::new(AND_CONSTANT, 0, 0, SYN | ACK),
        // Only SYN: go on to the next instruction (drop); otherwise skip it (keep).
        SockFilter::new(JUMP_IF_EQUAL, 0, 1, SYN),
        SockFilter::new(RETURN_CONSTANT, 0, 0, 0),
        SockFilter::new(RETURN_CONSTANT, 0, 0, u32::MAX),
    ]
}

#[cfg(test)]
mod tests {
    use super::bind;
    use std::io::{ErrorKind, Read as _, Write as _};
    use std::net::TcpStream;
    use std::time::Duration;

    /// With the door shut, a connection the kernel had queued is still there to accept and
    /// answer, and a new one is never completed: its connect times out rather than
    /// succeeding (the SYN is dropped, not refused).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_shut_door_keeps_the_queue_and_completes_no_new_connection() {
        let (listener, door) = bind("127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()))
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let mut queued = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect: {e}"));
        queued
            .write_all(b"ping")
            .unwrap_or_else(|e| panic!("write: {e}"));

        assert!(door.shut().unwrap_or_else(|e| panic!("shut: {e}")));

        let late = TcpStream::connect_timeout(&addr, Duration::from_millis(300));
        assert!(
            matches!(&late, Err(e) if e.kind() == ErrorKind::TimedOut),
            "a connection after the door shut: {late:?}"
        );

        listener
            .set_nonblocking(false)
            .unwrap_or_else(|e| panic!("{e}"));
        let (mut accepted, _) = listener.accept().unwrap_or_else(|e| panic!("accept: {e}"));
        let mut ping = [0_u8; 4];
        accepted
            .read_exact(&mut ping)
            .unwrap_or_else(|e| panic!("read: {e}"));
        assert_eq!(&ping, b"ping");
        accepted
            .write_all(b"pong")
            .unwrap_or_else(|e| panic!("write: {e}"));
        let mut pong = [0_u8; 4];
        queued
            .read_exact(&mut pong)
            .unwrap_or_else(|e| panic!("read: {e}"));
        assert_eq!(&pong, b"pong");
    }

    /// Once the door is released and the server's listener closed, the socket is gone: a
    /// connection is refused, not left waiting for an accept that never comes.
    #[test]
    fn a_released_door_leaves_the_socket_to_close() {
        let (listener, door) = bind("127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()))
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        door.release();
        drop(listener);
        let late = TcpStream::connect_timeout(&addr, Duration::from_millis(300));
        assert!(
            matches!(&late, Err(e) if e.kind() == ErrorKind::ConnectionRefused),
            "a connection after the socket closed: {late:?}"
        );
    }

    /// An open door lets connections in: the test above is not passing because connecting
    /// to this listener fails anyway.
    #[test]
    fn an_open_door_lets_connections_in() {
        let (listener, _door) = bind("127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()))
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let connected = TcpStream::connect_timeout(&addr, Duration::from_millis(300));
        assert!(connected.is_ok(), "{connected:?}");
    }
}
