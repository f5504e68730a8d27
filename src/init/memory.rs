//! Keeps PID 1's resident set small while it idles: the text used to boot
//! the system (parsing, planning, cloning containers) is not needed again
//! until something changes, so once a minute the init unmaps its
//! executable text and returns freed heap to the kernel. Pages it touches
//! again fault back in from the page cache.
//!
//! Only `r-xp` mappings are dropped: text is never written, so dropping it
//! cannot lose data (read-only data after relocation, `r--p`, may hold
//! relocated pointers and is left alone).

use std::fs;

/// Unmaps executable text and trims the heap.
pub fn trim() {
    let Ok(maps) = fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for (start, end) in text_ranges(&maps) {
        // SAFETY: the range is a whole, page-aligned r-xp file mapping of
        // this process; MADV_DONTNEED on clean private file pages only
        // drops them, and they are faulted back unchanged on next use.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
    // SAFETY: malloc_trim has no preconditions.
    unsafe { libc::malloc_trim(0) };
}

/// `r-xp` file mappings (start, end) from /proc/self/maps text.
fn text_ranges(maps: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let range = f.next()?;
            let perms = f.next()?;
            let path = f.nth(3)?;
            if perms != "r-xp" || !path.starts_with('/') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_executable_file_mappings() {
        let maps = "\
55d0a0000000-55d0a0100000 r--p 00000000 fe:00 123 /usr/bin/corral
55d0a0100000-55d0a0500000 r-xp 00100000 fe:00 123 /usr/bin/corral
55d0a0500000-55d0a0600000 r--p 00500000 fe:00 123 /usr/bin/corral
55d0a0600000-55d0a0610000 rw-p 00600000 fe:00 123 /usr/bin/corral
7f0000000000-7f0000021000 rw-p 00000000 00:00 0 [heap]
7fff00000000-7fff00002000 r-xp 00000000 00:00 0 [vdso]
";
        assert_eq!(text_ranges(maps), vec![(0x55d0a0100000, 0x55d0a0500000)]);
    }

    fn rss_file_kb() -> u64 {
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn trimming_our_own_text_drops_it_and_keeps_running() {
        let before = rss_file_kb();
        trim();
        // Still running (the code that did it faulted back in), with less
        // text resident than before.
        let after = rss_file_kb();
        assert!(after < before, "RssFile {before} kB -> {after} kB");
    }
}
