//! Reference-counted tables shared between processes (fd tables, fs info),
//! with copy-on-write values so cloning the whole state stays cheap.
//!
//! A slot is used by every process whose table it is (`CLONE_FILES` /
//! `CLONE_FS` share one slot; a plain fork copies into a new slot). Values are
//! `Arc`s: a copy or a state clone shares the data until one side writes
//! (`Arc::make_mut`).

use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot<T> {
    val: Arc<T>,
    users: u32,
}

/// Id-addressed shared values with user counts: a slab (an id is an index,
/// freed ids are reused), so a lookup is an index, not a hash.
#[derive(Debug, Clone)]
pub(crate) struct Shared<T> {
    slots: Vec<Option<Slot<T>>>,
    free: Vec<u64>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

/// Equal when the same ids hold equal values (whatever ids are free).
impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        self.live().eq(other.live())
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T> Shared<T> {
    /// The used slots with their ids.
    fn live(&self) -> impl Iterator<Item = (usize, &Slot<T>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
    }
}

impl<T: Clone + Default> Shared<T> {
    fn add(&mut self, val: Arc<T>) -> u64 {
        let slot = Some(Slot { val, users: 1 });
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                self.slots.len() as u64 - 1
            }
        }
    }
    fn slot(&self, id: u64) -> Option<&Slot<T>> {
        self.slots.get(usize::try_from(id).ok()?)?.as_ref()
    }
    fn slot_mut(&mut self, id: u64) -> Option<&mut Slot<T>> {
        self.slots.get_mut(usize::try_from(id).ok()?)?.as_mut()
    }
    /// A new slot with one user.
    pub fn insert(&mut self, v: T) -> u64 {
        self.add(Arc::new(v))
    }
    /// The value of slot `id`.
    pub fn get(&self, id: u64) -> Option<&T> {
        self.slot(id).map(|s| &*s.val)
    }
    /// Writable value of slot `id` (copied first if a clone still shares it).
    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.slot_mut(id).map(|s| Arc::make_mut(&mut s.val))
    }
    /// Adds a user to `id` (sharing) and returns it.
    pub fn share(&mut self, id: u64) -> u64 {
        match self.slot_mut(id) {
            Some(s) => {
                s.users = s.users.saturating_add(1);
                id
            }
            None => self.insert(T::default()),
        }
    }
    /// A new slot holding a (lazy) copy of `id`'s value.
    pub fn copy(&mut self, id: u64) -> u64 {
        let val = self.slot(id).map(|s| s.val.clone()).unwrap_or_default();
        self.add(val)
    }
    /// Drops one user of `id`, freeing the slot at zero.
    pub fn release(&mut self, id: u64) {
        if let Some(s) = self.slot_mut(id) {
            s.users = s.users.saturating_sub(1);
            if s.users == 0 {
                self.slots[id as usize] = None;
                self.free.push(id);
            }
        }
    }
    /// Gives one user of `id` a private copy if the slot is shared.
    pub fn unshare(&mut self, id: u64) -> u64 {
        match self.slot(id) {
            Some(s) if s.users > 1 => {
                let new = self.copy(id);
                self.release(id);
                new
            }
            Some(_) => id,
            None => self.insert(T::default()),
        }
    }
    /// Number of slots.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_copy_release() {
        let mut s: Shared<Vec<u8>> = Shared::default();
        let a = s.insert(vec![1]);
        let b = s.share(a);
        assert_eq!(a, b);
        let c = s.copy(a);
        s.get_mut(c).unwrap().push(2);
        assert_eq!(s.get(a), Some(&vec![1]));
        assert_eq!(s.get(c), Some(&vec![1, 2]));
        let d = s.unshare(b);
        assert_ne!(d, a);
        assert_eq!(s.unshare(a), a);
        s.release(a);
        assert_eq!(s.get(a), None);
        assert_eq!(s.len(), 2);
    }
}
