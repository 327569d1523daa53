//! The storage stack: every block device and every file a loop device or swap area stands on,
//! and what stands on what, by device number and inode.
//!
//! Writing one node changes the data of others: a disk's partitions, the devices built on it
//! (dm, md, loop devices over it), the files of the filesystem on it and the loop devices over
//! those files; and, downwards, what a partition, a dm/md device or a loop device is made of.
//! [`Stack::affected`] is that set, followed any number of levels deep, in both directions.
//! The one edge it does not follow is from a file down to its filesystem: writing an image file
//! through a loop device changes nothing else on that filesystem.

use std::collections::{HashMap, HashSet, VecDeque};

use super::facts::{Backing, FileId, SystemFacts};
use super::snapshot::Snapshot;
use super::sysfs::{BlockName, DevNum};

/// A node of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// A block device (whole disk, partition, dm, md, loop), by device number.
    Block(DevNum),
    /// A regular file a loop device or a swap area stands on, by identity.
    File(FileId),
}

/// What stands on what, from sysfs and the system facts.
#[derive(Debug, Clone, Default)]
pub struct Stack {
    names: HashMap<DevNum, BlockName>,
    /// Whole disk to its partitions.
    partitions: HashMap<DevNum, Vec<DevNum>>,
    /// Partition to its whole disk.
    disk_of: HashMap<DevNum, DevNum>,
    /// A device to the devices built directly on it (sysfs holders, loop devices over it).
    uppers: HashMap<DevNum, Vec<DevNum>>,
    /// A device to what it is built directly on (sysfs slaves, a loop device's backing).
    lowers: HashMap<DevNum, Vec<Node>>,
    /// A file to the loop devices over it.
    loops_over: HashMap<FileId, Vec<DevNum>>,
    /// A block device to the known files of the filesystem on it.
    files_on: HashMap<DevNum, Vec<FileId>>,
}

impl Stack {
    /// Builds the stack of the system described by one scan of sysfs and `facts`.
    pub fn build(sysfs: &Snapshot, facts: &SystemFacts) -> Stack {
        let mut stack = Stack {
            names: sysfs.index(),
            ..Stack::default()
        };
        let by_name: HashMap<String, DevNum> = stack
            .names
            .iter()
            .map(|(n, b)| (b.name().to_string(), *n))
            .collect();
        // In device-number order, so that walks (and the reasons they give) come out the same
        // every time.
        let mut devices: Vec<(DevNum, BlockName)> =
            stack.names.iter().map(|(n, b)| (*n, b.clone())).collect();
        devices.sort_by_key(|(n, _)| *n);
        for (num, name) in &devices {
            if name.partition.is_some()
                && let Some(disk) = by_name.get(&name.disk)
            {
                stack.disk_of.insert(*num, *disk);
                push(stack.partitions.entry(*disk).or_default(), *num);
            }
            for holder in sysfs.holders(name) {
                if let Some(h) = by_name.get(holder) {
                    stack.link_block(*h, *num);
                }
            }
            if name.partition.is_none() {
                for slave in sysfs.slaves(&name.disk) {
                    if let Some(s) = by_name.get(slave) {
                        stack.link_block(*num, *s);
                    }
                }
            }
        }
        let mut loops: Vec<_> = facts.loops.iter().collect();
        loops.sort_by_key(|(name, _)| *name);
        for (name, info) in loops {
            let Some(lo) = by_name.get(name) else {
                continue;
            };
            match info.backing {
                Some(Backing::Block(b)) => stack.link_block(*lo, b),
                Some(Backing::File(f)) => {
                    push(stack.lowers.entry(*lo).or_default(), Node::File(f));
                    push(stack.loops_over.entry(f).or_default(), *lo);
                    stack.add_file(f, facts);
                }
                None => {}
            }
        }
        for (_, backing) in &facts.swaps {
            if let Some(Backing::File(f)) = backing {
                stack.add_file(*f, facts);
            }
        }
        stack
    }

    fn link_block(&mut self, upper: DevNum, lower: DevNum) {
        push(self.uppers.entry(lower).or_default(), upper);
        push(self.lowers.entry(upper).or_default(), Node::Block(lower));
    }

    fn add_file(&mut self, f: FileId, facts: &SystemFacts) {
        push(self.files_on.entry(facts.fs_block(f.dev)).or_default(), f);
    }

    /// The kernel name of a block device, if sysfs knows it.
    pub fn name(&self, dev: DevNum) -> Option<&BlockName> {
        self.names.get(&dev)
    }

    /// `/dev/NAME` of a block device, or its number if sysfs does not know it.
    pub fn dev_path(&self, dev: DevNum) -> String {
        match self.names.get(&dev) {
            Some(b) => format!("/dev/{}", b.name()),
            None => format!("block device {dev}"),
        }
    }

    /// The devices built directly on `dev` (holders and loop devices over it).
    pub fn uppers(&self, dev: DevNum) -> &[DevNum] {
        self.uppers.get(&dev).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The loop devices over a file.
    pub fn loops_over(&self, file: FileId) -> &[DevNum] {
        self.loops_over.get(&file).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every node whose data changes when `start` is written, `start` included.
    pub fn affected(&self, start: Node) -> Vec<Node> {
        self.walk(start, |node, next| match node {
            Node::Block(d) => {
                let blocks = [
                    self.partitions.get(&d).map(Vec::as_slice),
                    self.uppers.get(&d).map(Vec::as_slice),
                    self.disk_of.get(&d).map(std::slice::from_ref),
                ];
                next.extend(
                    blocks
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|b| Node::Block(*b)),
                );
                next.extend(self.lowers.get(&d).into_iter().flatten().copied());
                next.extend(
                    self.files_on
                        .get(&d)
                        .into_iter()
                        .flatten()
                        .map(|f| Node::File(*f)),
                );
            }
            Node::File(f) => {
                next.extend(self.loops_over(f).iter().map(|b| Node::Block(*b)));
            }
        })
    }

    /// What `start` is made of, `start` included: followed down through partitions to their
    /// disk, dm/md devices to their members and loop devices to their backing.
    pub fn beneath(&self, start: Node) -> Vec<Node> {
        self.walk(start, |node, next| {
            if let Node::Block(d) = node {
                next.extend(self.disk_of.get(&d).map(|b| Node::Block(*b)));
                next.extend(self.lowers.get(&d).into_iter().flatten().copied());
            }
        })
    }

    fn walk(&self, start: Node, step: impl Fn(Node, &mut Vec<Node>)) -> Vec<Node> {
        let mut seen = HashSet::from([start]);
        let mut order = vec![start];
        let mut queue = VecDeque::from([start]);
        let mut next = Vec::new();
        while let Some(node) = queue.pop_front() {
            next.clear();
            step(node, &mut next);
            for n in next.drain(..) {
                if seen.insert(n) {
                    order.push(n);
                    queue.push_back(n);
                }
            }
        }
        order
    }
}

fn push<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}
