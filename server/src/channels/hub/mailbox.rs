//! A socket's mailbox: what the node hands one connection, and the only thing its task waits on
//! besides the socket and its own acknowledgements.
//!
//! Rooms put event frames in it without waiting (a bounded queue: a member that lets it fill is
//! flagged slow and dropped from its rooms); the node puts its signals in it (ping, session
//! ended, access changed, alerts). One lock and one wake-up serve both, and an idle socket's
//! mailbox holds no buffer at all: it costs a few dozen bytes, where a pair of channels cost
//! kilobytes before anything was sent (each preallocates a block of slots).

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Notify;

use super::ConnSignal;

/// Signals held for a socket that has not taken them; past this, pings and alerts are dropped
/// (the socket is stuck, and the watch will close it), while the signals that end or narrow the
/// connection are always kept.
const SIGNAL_BACKLOG: usize = 8;

/// What became of a frame a room offered.
#[derive(Debug, PartialEq, Eq)]
pub enum Offered {
    /// Queued for the socket.
    Queued,
    /// The queue was full: the socket is now flagged slow, and will close.
    Overflowed,
    /// The connection has ended.
    Closed,
}

/// What the socket's task takes from its mailbox when woken.
#[derive(Debug, Default)]
pub struct Mail {
    /// The node's signals, oldest first.
    pub signals: Vec<ConnSignal>,
    /// Frames to write, oldest first (at most the batch asked for).
    pub frames: Vec<Utf8Bytes>,
    /// A room found the queue full: close as a slow consumer.
    pub slow: bool,
}

/// One connection's mailbox. Shared by its task, its rooms and the node's registry.
#[derive(Debug)]
pub struct Mailbox {
    inbox: Mutex<Inbox>,
    /// Wakes the task for any mail.
    wake: Notify,
    /// Wakes a task busy writing, when a room flags it slow.
    overflowed: Notify,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inbox {
    frames: VecDeque<Utf8Bytes>,
    signals: Vec<ConnSignal>,
    slow: bool,
    closed: bool,
}

impl Mailbox {
    /// A mailbox queueing at most `capacity` frames.
    pub fn new(capacity: usize) -> Self {
        Self {
            inbox: Mutex::default(),
            wake: Notify::new(),
            overflowed: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offers a frame from a room; never waits.
    pub fn offer(&self, frame: Utf8Bytes) -> Offered {
        let mut inbox = self.inbox();
        if inbox.closed {
            return Offered::Closed;
        }
        if inbox.frames.len() >= self.capacity {
            let newly = !inbox.slow;
            inbox.slow = true;
            drop(inbox);
            if newly {
                self.wake.notify_one();
                self.overflowed.notify_one();
            }
            return Offered::Overflowed;
        }
        let was_empty = inbox.frames.is_empty();
        inbox.frames.push_back(frame);
        drop(inbox);
        // The task takes everything queued when it wakes, so only the first frame needs to
        // wake it.
        if was_empty {
            self.wake.notify_one();
        }
        Offered::Queued
    }

    /// Hands the socket a signal from the node; never waits.
    pub fn signal(&self, signal: ConnSignal) {
        let mut inbox = self.inbox();
        if inbox.closed {
            return;
        }
        let droppable = matches!(signal, ConnSignal::Ping | ConnSignal::Frame(_));
        if droppable && inbox.signals.len() >= SIGNAL_BACKLOG {
            return;
        }
        if signal == ConnSignal::Ping && inbox.signals.contains(&ConnSignal::Ping) {
            return;
        }
        inbox.signals.push(signal);
        drop(inbox);
        self.wake.notify_one();
    }

    /// Waits until there is mail, then takes the signals, the slow flag and up to `batch` frames.
    pub async fn take(&self, batch: usize) -> Mail {
        loop {
            if let Some(mail) = self.try_take(batch) {
                return mail;
            }
            // A wake-up given while nobody waited is kept, so none is lost between the look
            // above and this wait.
            self.wake.notified().await;
        }
    }

    fn try_take(&self, batch: usize) -> Option<Mail> {
        let mut inbox = self.inbox();
        if inbox.signals.is_empty() && inbox.frames.is_empty() && !inbox.slow {
            return None;
        }
        let take = inbox.frames.len().min(batch);
        let frames = inbox.frames.drain(..take).collect();
        if inbox.frames.is_empty() && inbox.frames.capacity() > self.capacity.min(64) {
            // A burst is over: give its memory back rather than keep it for an idle socket.
            inbox.frames = VecDeque::new();
        }
        let mail = Mail {
            signals: std::mem::take(&mut inbox.signals),
            frames,
            slow: inbox.slow,
        };
        let more = !inbox.frames.is_empty();
        drop(inbox);
        if more {
            // Frames left behind a full batch: the next `take` must not wait for a new one.
            self.wake.notify_one();
        }
        Some(mail)
    }

    /// Completes once a room has flagged the socket slow.
    pub async fn slow(&self) {
        if !self.inbox().slow {
            // Given only when the flag is raised, and kept if nobody waits yet.
            self.overflowed.notified().await;
        }
    }

    /// The connection has ended: refuse further mail and free what is queued.
    pub fn close(&self) {
        let mut inbox = self.inbox();
        inbox.closed = true;
        inbox.frames = VecDeque::new();
        inbox.signals = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &'static str) -> Utf8Bytes {
        Utf8Bytes::from_static(text)
    }

    #[tokio::test]
    async fn frames_come_out_in_order_and_in_batches() {
        let mailbox = Mailbox::new(10);
        for text in ["a", "b", "c"] {
            assert_eq!(mailbox.offer(frame(text)), Offered::Queued);
        }
        let first = mailbox.take(2).await;
        assert_eq!(first.frames, vec![frame("a"), frame("b")]);
        let second = mailbox.take(2).await;
        assert_eq!(second.frames, vec![frame("c")]);
        assert!(mailbox.try_take(2).is_none(), "nothing left");
    }

    #[tokio::test]
    async fn a_full_queue_flags_the_socket_slow_and_keeps_what_it_had() {
        let mailbox = Mailbox::new(2);
        assert_eq!(mailbox.offer(frame("a")), Offered::Queued);
        assert_eq!(mailbox.offer(frame("b")), Offered::Queued);
        assert_eq!(mailbox.offer(frame("c")), Offered::Overflowed);
        mailbox.slow().await;
        let mail = mailbox.take(10).await;
        assert!(mail.slow);
        assert_eq!(mail.frames.len(), 2);
    }

    #[tokio::test]
    async fn signals_wake_a_waiting_task() {
        let mailbox = std::sync::Arc::new(Mailbox::new(4));
        let waiting = tokio::spawn({
            let mailbox = mailbox.clone();
            async move { mailbox.take(4).await }
        });
        tokio::task::yield_now().await;
        mailbox.signal(ConnSignal::Shutdown);
        let mail = waiting.await.expect("the task");
        assert_eq!(mail.signals, vec![ConnSignal::Shutdown]);
    }

    #[tokio::test]
    async fn pings_and_alerts_are_bounded_but_endings_are_kept() {
        let mailbox = Mailbox::new(4);
        for _ in 0..3 {
            mailbox.signal(ConnSignal::Ping);
        }
        for _ in 0..20 {
            mailbox.signal(ConnSignal::Frame(frame("alert")));
        }
        mailbox.signal(ConnSignal::SessionEnded);
        let mail = mailbox.take(4).await;
        assert_eq!(
            mail.signals
                .iter()
                .filter(|s| **s == ConnSignal::Ping)
                .count(),
            1
        );
        assert_eq!(mail.signals.len(), SIGNAL_BACKLOG + 1);
        assert_eq!(mail.signals.last(), Some(&ConnSignal::SessionEnded));
    }

    #[tokio::test]
    async fn a_closed_mailbox_refuses_frames() {
        let mailbox = Mailbox::new(4);
        assert_eq!(mailbox.offer(frame("a")), Offered::Queued);
        mailbox.close();
        assert_eq!(mailbox.offer(frame("b")), Offered::Closed);
        mailbox.signal(ConnSignal::Shutdown);
        assert!(mailbox.try_take(4).is_none());
    }
}
