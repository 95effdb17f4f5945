//! Large buffers kept between the figures of the ResizeImages steps running
//! in this process: the decoded figures, the renditions and the
//! resizers' working memory.
//!
//! Why: every figure needs some 25–30 MB of buffers (a 4 MP figure decoded
//! is 12 MB). Each is above glibc's mmap threshold, which the activity
//! worker sets to 1 MiB so that freed figures leave the process
//! (`pressbot_daemons::memory`), so every allocation was fresh pages from
//! the kernel: a page fault and a zeroed page for every 4 KiB touched,
//! about 7 % of the whole pipeline's CPU (docs/benchmarks.md section 6).
//! Reused buffers are already mapped.
//!
//! Bounded two ways, so that this never becomes the memory creep the
//! threshold cured: at most [`MAX_SPARE`] buffers and resizers are kept,
//! and they are kept only while a ResizeImages is running
//! ([`Active`]); when the last one ends, everything kept is freed, so an
//! idle worker holds none of it. Outside ResizeImages (tests, benches)
//! nothing is kept.

use std::sync::Mutex;

/// Buffers and resizers kept at most: what two figures in flight use (the
/// cores of the machine this was measured on), each its decoded pixels, a
/// rendition and a resizer.
pub(super) const MAX_SPARE: usize = 6;

#[derive(Default)]
struct Spare {
    /// ResizeImages steps running in this process.
    active: usize,
    buffers: Vec<Vec<u8>>,
    resizers: Vec<fast_image_resize::Resizer>,
}

/// A pool of spare buffers: one per process ([`POOL`]); tests make their
/// own, so that resizes run by other tests at the same time cannot change
/// what they count.
pub(super) struct Pool(Mutex<Spare>);

/// This process's pool.
static POOL: Pool = Pool::new();

/// Held by a running ResizeImages: buffers are kept while any is held.
#[must_use = "buffers are kept only while the guard is held"]
pub(crate) struct Active(&'static Pool);

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("spare::Active")
    }
}

impl Active {
    /// Keep buffers in this process's pool until the guard is dropped.
    pub(crate) fn start() -> Active {
        POOL.start()
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let freed = {
            let mut s = self.0.lock();
            s.active = s.active.saturating_sub(1);
            if s.active == 0 {
                (
                    std::mem::take(&mut s.buffers),
                    std::mem::take(&mut s.resizers),
                )
            } else {
                (Vec::new(), Vec::new())
            }
        };
        // Freed outside the lock.
        drop(freed);
    }
}

impl Pool {
    const fn new() -> Pool {
        Pool(Mutex::new(Spare {
            active: 0,
            buffers: Vec::new(),
            resizers: Vec::new(),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Spare> {
        // A panic while holding the lock leaves only a list of buffers behind.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start(&'static self) -> Active {
        self.lock().active += 1;
        Active(self)
    }

    /// An empty buffer with room for `len` bytes: the smallest kept one
    /// that is large enough, else a new one.
    fn take(&self, len: usize) -> Vec<u8> {
        let found = {
            let mut s = self.lock();
            let best = s
                .buffers
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            best.map(|i| s.buffers.swap_remove(i))
        };
        match found {
            Some(mut b) => {
                b.clear();
                b
            }
            None => Vec::with_capacity(len),
        }
    }

    /// Keep a buffer while a ResizeImages runs and there is room (a larger
    /// one replaces the smallest kept), else free it. Buffers under 1 MiB
    /// are not worth keeping (glibc's heap serves them).
    fn give(&self, buffer: Vec<u8>) {
        if buffer.capacity() < 1 << 20 {
            return;
        }
        let dropped = {
            let mut s = self.lock();
            if s.active == 0 {
                Some(buffer)
            } else if s.buffers.len() + s.resizers.len() < MAX_SPARE {
                s.buffers.push(buffer);
                None
            } else {
                let smallest = s
                    .buffers
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, b)| b.capacity())
                    .map(|(i, b)| (i, b.capacity()));
                match smallest {
                    Some((i, cap)) if cap < buffer.capacity() => {
                        Some(std::mem::replace(&mut s.buffers[i], buffer))
                    }
                    _ => Some(buffer),
                }
            }
        };
        drop(dropped);
    }

    fn take_resizer(&self) -> fast_image_resize::Resizer {
        let kept = self.lock().resizers.pop();
        kept.unwrap_or_default()
    }

    fn give_resizer(&self, resizer: fast_image_resize::Resizer) {
        let dropped = {
            let mut s = self.lock();
            if s.active > 0 && s.buffers.len() + s.resizers.len() < MAX_SPARE {
                s.resizers.push(resizer);
                None
            } else {
                Some(resizer)
            }
        };
        drop(dropped);
    }
}

/// An empty buffer with room for `len` bytes, from this process's pool.
pub(super) fn take(len: usize) -> Vec<u8> {
    POOL.take(len)
}

/// [`take`], filled with `len` zeros.
pub(super) fn take_zeroed(len: usize) -> Vec<u8> {
    let mut b = take(len);
    b.resize(len, 0);
    b
}

/// Give a buffer back to this process's pool (see [`Pool::give`]).
pub(super) fn give(buffer: Vec<u8>) {
    POOL.give(buffer)
}

/// A resizer, with the working memory a kept one has grown.
pub(super) fn take_resizer() -> fast_image_resize::Resizer {
    POOL.take_resizer()
}

/// Give a resizer back (kept as buffers are).
pub(super) fn give_resizer(resizer: fast_image_resize::Resizer) {
    POOL.give_resizer(resizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_kept_only_while_a_resize_runs_and_never_more_than_the_bound() {
        const MB: usize = 1 << 20;
        static OWN: Pool = Pool::new();
        let kept = || OWN.lock().buffers.len();
        // Nothing running: nothing kept.
        OWN.give(Vec::with_capacity(4 * MB));
        assert_eq!(kept(), 0);

        let a = OWN.start();
        let b = OWN.start();
        OWN.give(Vec::with_capacity(4 * MB));
        OWN.give(Vec::with_capacity(2 * MB));
        OWN.give(Vec::with_capacity(1024)); // small: never kept
        assert_eq!(kept(), 2);
        // The smallest that fits is taken, empty; too large a request is new.
        let t = OWN.take(3 * MB);
        assert!(t.capacity() >= 3 * MB && t.capacity() < 8 * MB && t.is_empty());
        assert_eq!(kept(), 1);
        assert!(OWN.take(16 * MB).capacity() >= 16 * MB);
        assert_eq!(kept(), 1, "nothing fitted: a new buffer");

        // Never more than MAX_SPARE; a larger buffer replaces the smallest.
        for i in 0..MAX_SPARE + 3 {
            OWN.give(Vec::with_capacity((i + 1) * MB));
        }
        let caps: Vec<usize> = OWN.lock().buffers.iter().map(|b| b.capacity()).collect();
        assert_eq!(caps.len(), MAX_SPARE);
        assert!(caps.iter().all(|&c| c >= 4 * MB), "{caps:?}");
        OWN.give_resizer(fast_image_resize::Resizer::new());
        assert_eq!(
            OWN.lock().resizers.len(),
            0,
            "full: the resizer is not kept"
        );

        // One resize still running keeps them; the last one ending frees all.
        drop(a);
        assert_eq!(kept(), MAX_SPARE);
        drop(b);
        assert_eq!(kept(), 0);
        assert_eq!(OWN.lock().active, 0);
    }

    #[test]
    fn zeroed_buffers_are_all_zeros() {
        assert_eq!(take_zeroed((1 << 20) + 5), vec![0u8; (1 << 20) + 5]);
    }
}
