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
//!
//! An RRset with [`FLAG_ADDITIONAL`] (SRV, MX or NS whose targets have addresses in the
//! zone) carries its additional section too: after `length` come `additional length (u32)
//! | group count (u16)`, after the answer bytes the additional records as hickory encodes
//! them right after that answer section, then one `records (u16) | end (u32)` per group
//! (a target's A and AAAA RRsets), both counted from the start of the additional bytes,
//! so a response can end after any group.

use crate::wire;

/// The RRset is not answered by the fast path (its encoding does not survive a decode and
/// re-encode, so only the general path is byte-exact for it).
pub(crate) const FLAG_GENERAL_ONLY: u8 = 1;

/// The RRset carries an additional section (see the module documentation).
pub(crate) const FLAG_ADDITIONAL: u8 = 2;

const SET_HEADER: usize = 2 + 2 + 1 + 4 + 4;
/// What follows [`SET_HEADER`] with [`FLAG_ADDITIONAL`].
const ADDITIONAL_HEADER: usize = 4 + 2;
/// One group's entry: cumulative records, cumulative end.
const GROUP_LEN: usize = 2 + 4;

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
    /// The answer section followed by the additional section (`bytes` when there is
    /// none).
    with_additional: &'t [u8],
    /// The groups of the additional section, [`GROUP_LEN`] bytes each.
    groups: &'t [u8],
}

impl<'t> Set<'t> {
    /// How many groups the additional section has (0 without one).
    pub(crate) fn groups(&self) -> usize {
        self.groups.len() / GROUP_LEN
    }

    /// After the first `groups` groups of the additional section: how many additional
    /// records, and the answer and additional bytes up to there.
    pub(crate) fn up_to_group(&self, groups: usize) -> (u16, &'t [u8]) {
        let Some(entry) = groups
            .checked_sub(1)
            .and_then(|i| self.groups.get(i * GROUP_LEN..(i + 1) * GROUP_LEN))
        else {
            return (0, self.bytes);
        };
        let records = u16::from_le_bytes([entry[0], entry[1]]);
        let end = u32::from_le_bytes([entry[2], entry[3], entry[4], entry[5]]) as usize;
        let total = (self.bytes.len() + end).min(self.with_additional.len());
        (records, &self.with_additional[..total])
    }

    /// The most groups whose answer and additional bytes are at most `room` long;
    /// `None` when the answer alone is longer.
    pub(crate) fn groups_fitting(&self, room: usize) -> Option<usize> {
        if self.bytes.len() > room {
            return None;
        }
        let mut fit = 0;
        while fit < self.groups() && self.up_to_group(fit + 1).1.len() <= room {
            fit += 1;
        }
        Some(fit)
    }
}

/// The additional section of an RRset to insert.
pub(crate) struct NewAdditional {
    /// The records as encoded after the answer section.
    pub(crate) bytes: Vec<u8>,
    /// Per group: records and end in `bytes`, both cumulative.
    pub(crate) groups: Vec<(u16, u32)>,
}

/// An RRset to insert.
pub(crate) struct NewSet {
    pub(crate) record_type: u16,
    pub(crate) count: u16,
    pub(crate) flags: u8,
    pub(crate) bound: u32,
    pub(crate) bytes: Vec<u8>,
    /// With [`FLAG_ADDITIONAL`] in `flags`.
    pub(crate) additional: Option<NewAdditional>,
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
    let flags = header[4];
    if flags & FLAG_ADDITIONAL == 0 {
        let answer = bytes.get(SET_HEADER..SET_HEADER + len)?;
        let set = Set {
            record_type: u16_at(0),
            count: u16_at(2),
            flags,
            bound: u32_at(5),
            bytes: answer,
            with_additional: answer,
            groups: &[],
        };
        return Some((set, SET_HEADER + len));
    }
    let extra = bytes.get(SET_HEADER..SET_HEADER + ADDITIONAL_HEADER)?;
    let additional_len =
        usize::try_from(u32::from_le_bytes([extra[0], extra[1], extra[2], extra[3]])).ok()?;
    let groups = usize::from(u16::from_le_bytes([extra[4], extra[5]]));
    let start = SET_HEADER + ADDITIONAL_HEADER;
    let sections_end = start + len + additional_len;
    let end = sections_end + groups * GROUP_LEN;
    let set = Set {
        record_type: u16_at(0),
        count: u16_at(2),
        flags,
        bound: u32_at(5),
        bytes: bytes.get(start..start + len)?,
        with_additional: bytes.get(start..sections_end)?,
        groups: bytes.get(sections_end..end)?,
    };
    Some((set, end))
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
            let additional = set.additional.as_ref().filter(|a| {
                !a.groups.is_empty()
                    && u16::try_from(a.groups.len()).is_ok()
                    && u32::try_from(a.bytes.len()).is_ok()
            });
            let flags = match additional {
                Some(_) => set.flags | FLAG_ADDITIONAL,
                None => set.flags & !FLAG_ADDITIONAL,
            };
            self.data.extend_from_slice(&set.record_type.to_le_bytes());
            self.data.extend_from_slice(&set.count.to_le_bytes());
            self.data.push(flags);
            self.data.extend_from_slice(&set.bound.to_le_bytes());
            let len = u32::try_from(set.bytes.len()).unwrap_or(u32::MAX);
            self.data.extend_from_slice(&len.to_le_bytes());
            if let Some(additional) = additional {
                let add_len = u32::try_from(additional.bytes.len()).unwrap_or(u32::MAX);
                let groups = u16::try_from(additional.groups.len()).unwrap_or(0);
                self.data.extend_from_slice(&add_len.to_le_bytes());
                self.data.extend_from_slice(&groups.to_le_bytes());
                self.data.extend_from_slice(&set.bytes);
                self.data.extend_from_slice(&additional.bytes);
                for (records, end) in &additional.groups {
                    self.data.extend_from_slice(&records.to_le_bytes());
                    self.data.extend_from_slice(&end.to_le_bytes());
                }
            } else {
                self.data.extend_from_slice(&set.bytes);
            }
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
