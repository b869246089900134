//! The name table of one zone: every name that exists (empty non-terminals included),
//! keyed by its lowercase wire form, with the RRsets at it pre-encoded as answer
//! sections.
//!
//! Everything lives in one byte buffer plus an open-addressing index of offsets into it
//! (linear probing, at most half full), so a zone of 100,000 names is two allocations and
//! a lookup is one hash, a probe or two and one comparison of the name.
//!
//! An entry is `name length (u8) | name | RRset count (u8) | RRsets`, and an RRset is
//! `type (u16) | record count (u16) | flags (u8) | size bound (u32) | length (u32) |
//! answer bytes`, little-endian. The answer bytes are the RRset exactly as hickory encodes
//! it in the answer section of a response to a question for that name and type (see
//! [`crate::encoded`]).

use crate::wire;

/// The RRset is not answered by the fast path (its encoding does not survive a decode and
/// re-encode, so only the general path is byte-exact for it).
pub(crate) const FLAG_GENERAL_ONLY: u8 = 1;

const SET_HEADER: usize = 2 + 2 + 1 + 4 + 4;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct NameTable {
    /// Offset + 1 of an entry in `data`; 0 is an empty slot. Length is a power of two.
    slots: Box<[u32]>,
    data: Vec<u8>,
    len: usize,
}

/// One RRset as stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Set<'t> {
    pub(crate) record_type: u16,
    pub(crate) count: u16,
    pub(crate) flags: u8,
    /// Upper bound of the encoded size (names uncompressed).
    pub(crate) bound: u32,
    /// The answer section (see the module documentation).
    pub(crate) bytes: &'t [u8],
}

/// An RRset to insert.
pub(crate) struct NewSet {
    pub(crate) record_type: u16,
    pub(crate) count: u16,
    pub(crate) flags: u8,
    pub(crate) bound: u32,
    pub(crate) bytes: Vec<u8>,
}

/// A name in the table: its RRsets, by type code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'t> {
    count: u8,
    sets: &'t [u8],
}

impl<'t> Node<'t> {
    pub(crate) fn sets(self) -> impl Iterator<Item = Set<'t>> {
        let mut rest = self.sets;
        (0..self.count).map_while(move |_| {
            let (set, len) = read_set(rest)?;
            rest = &rest[len..];
            Some(set)
        })
    }

    pub(crate) fn get(self, record_type: u16) -> Option<Set<'t>> {
        self.sets().find(|set| set.record_type == record_type)
    }

    pub(crate) fn first(self) -> Option<Set<'t>> {
        self.sets().next()
    }
}

fn read_set(bytes: &[u8]) -> Option<(Set<'_>, usize)> {
    let header = bytes.get(..SET_HEADER)?;
    let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
    let u32_at = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let len = usize::try_from(u32_at(9)).ok()?;
    let set = Set {
        record_type: u16_at(0),
        count: u16_at(2),
        flags: header[4],
        bound: u32_at(5),
        bytes: bytes.get(SET_HEADER..SET_HEADER + len)?,
    };
    Some((set, SET_HEADER + len))
}

impl NameTable {
    pub(crate) fn new() -> Self {
        Self {
            slots: vec![0; 16].into_boxed_slice(),
            data: Vec::new(),
            len: 0,
        }
    }

    /// How many names.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The node at `key` (a lowercase wire name).
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<Node<'_>> {
        let offset = self.find(key).ok()?;
        self.node_at(offset)
    }

    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.find(key).is_ok()
    }

    /// Every node, in insertion order.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = (&[u8], Node<'_>)> {
        let mut at = 0;
        std::iter::from_fn(move || {
            let (key, node, len) = self.entry_at(at)?;
            at += len;
            Some((key, node))
        })
    }

    /// Adds `key` with `sets` (sorted by type code); `false` when it is there already.
    pub(crate) fn insert(&mut self, key: &[u8], sets: &[NewSet]) -> bool {
        let Err(slot) = self.find_slot(key) else {
            return false;
        };
        let Ok(offset) = u32::try_from(self.data.len() + 1) else {
            return false;
        };
        let (Ok(key_len), Ok(set_count)) = (u8::try_from(key.len()), u8::try_from(sets.len()))
        else {
            return false;
        };
        self.data.push(key_len);
        self.data.extend_from_slice(key);
        self.data.push(set_count);
        for set in sets {
            self.data.extend_from_slice(&set.record_type.to_le_bytes());
            self.data.extend_from_slice(&set.count.to_le_bytes());
            self.data.push(set.flags);
            self.data.extend_from_slice(&set.bound.to_le_bytes());
            let len = u32::try_from(set.bytes.len()).unwrap_or(u32::MAX);
            self.data.extend_from_slice(&len.to_le_bytes());
            self.data.extend_from_slice(&set.bytes);
        }
        self.slots[slot] = offset;
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    /// Frees unused capacity once building is done.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.data.shrink_to_fit();
    }

    fn grow(&mut self) {
        let mut slots = vec![0u32; self.slots.len() * 2].into_boxed_slice();
        let mask = slots.len() - 1;
        let mut at = 0;
        while let Some((key, _, len)) = self.entry_at(at) {
            let mut slot = index(wire::hash(key), mask);
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = u32::try_from(at + 1).unwrap_or(0);
            at += len;
        }
        self.slots = slots;
    }

    /// `Ok(offset of the entry)` or `Err(the empty slot where it would go)`.
    #[inline]
    fn find_slot(&self, key: &[u8]) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = index(wire::hash(key), mask);
        loop {
            let stored = self.slots[slot];
            if stored == 0 {
                return Err(slot);
            }
            let offset = stored as usize - 1;
            if self.key_at(offset) == Some(key) {
                return Ok(slot);
            }
            slot = (slot + 1) & mask;
        }
    }

    #[inline]
    fn find(&self, key: &[u8]) -> Result<usize, ()> {
        match self.find_slot(key) {
            Ok(slot) => Ok(self.slots[slot] as usize - 1),
            Err(_) => Err(()),
        }
    }

    #[inline]
    fn key_at(&self, offset: usize) -> Option<&[u8]> {
        let len = usize::from(*self.data.get(offset)?);
        self.data.get(offset + 1..offset + 1 + len)
    }

    fn node_at(&self, offset: usize) -> Option<Node<'_>> {
        self.entry_at(offset).map(|(_, node, _)| node)
    }

    /// The key, the node and the entry's total length at `offset`.
    fn entry_at(&self, offset: usize) -> Option<(&[u8], Node<'_>, usize)> {
        let key = self.key_at(offset)?;
        let count_at = offset + 1 + key.len();
        let count = *self.data.get(count_at)?;
        let sets_start = count_at + 1;
        let mut end = sets_start;
        for _ in 0..count {
            let (_, len) = read_set(self.data.get(end..)?)?;
            end += len;
        }
        let node = Node {
            count,
            sets: &self.data[sets_start..end],
        };
        Some((key, node, end - offset))
    }
}

#[inline]
fn index(hash: u64, mask: usize) -> usize {
    // High bits: the low ones of the multiply are weaker.
    (hash >> 32) as usize & mask
}
