//! Recall of earlier lines for a prompt (one history each for `:` and `/`): up and down walk
//! the lines that start with what was typed before the first up (zsh's
//! `up-line-or-beginning-search`, fish's default), skipping repeats of the line on screen.

use std::collections::VecDeque;

/// Lines submitted at one prompt, oldest first, with the position of an up/down walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    entries: VecDeque<String>,
    capacity: usize,
    walk: Option<Walk>,
}

/// A walk in progress: the entry shown (`entries.len()` is the draft) and the draft, which
/// is also the prefix the walk matches.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Walk {
    at: usize,
    draft: String,
}

impl History {
    /// How many lines a prompt remembers.
    pub const CAPACITY: usize = 100;

    pub fn new() -> History {
        History::with_capacity(History::CAPACITY)
    }

    /// At least one line is kept whatever `capacity` says.
    pub fn with_capacity(capacity: usize) -> History {
        History {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            walk: None,
        }
    }

    /// Remembers a submitted line. Blank lines and a repeat of the newest line are dropped;
    /// past the capacity the oldest line goes. Ends any walk.
    pub fn push(&mut self, line: &str) {
        self.walk = None;
        let line = line.trim();
        if line.is_empty() || self.entries.back().is_some_and(|last| last == line) {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(line.to_string());
    }

    /// The remembered lines, oldest first (for saving them).
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Up: the next older line starting with the draft, `current` being the line on screen
    /// (the draft, when this starts a walk). `None` when there is no older one; the line on
    /// screen then stays.
    pub fn older(&mut self, current: &str) -> Option<String> {
        let walk = self.walk.get_or_insert_with(|| Walk {
            at: self.entries.len(),
            draft: current.to_string(),
        });
        let found = (0..walk.at).rev().find(|&i| {
            let entry = &self.entries[i];
            entry.starts_with(&walk.draft) && entry != current
        })?;
        walk.at = found;
        Some(self.entries[found].clone())
    }

    /// Down: the next newer line starting with the draft, else the draft itself, which ends
    /// the walk. `None` when no walk is in progress.
    pub fn newer(&mut self) -> Option<String> {
        let walk = self.walk.as_mut()?;
        let current = self.entries.get(walk.at);
        let found = (walk.at + 1..self.entries.len()).find(|&i| {
            let entry = &self.entries[i];
            entry.starts_with(&walk.draft) && Some(entry) != current
        });
        match found {
            Some(i) => {
                walk.at = i;
                Some(self.entries[i].clone())
            }
            None => self.walk.take().map(|w| w.draft),
        }
    }

    /// Forgets the walk (the line was edited or the prompt closed).
    pub fn reset(&mut self) {
        self.walk = None;
    }
}

impl Default for History {
    fn default() -> History {
        History::new()
    }
}
