//! "Did you mean …?": the closest candidate to a misspelt word. The one rule behind every
//! suggestion taskrun makes: unknown task-file keys, `when` step ids, secret volume names and
//! unknown `docker run`/`docker build` flags.
//!
//! The rule: compare case-insensitively with the optimal string alignment distance (Levenshtein
//! plus adjacent transpositions, so `detatch` is one edit from `detach`); accept a distance of at
//! most a third of the word's length (at least 1), so short words only match near-identical
//! candidates; treat a prefix in either direction (`priv` of `privileged`, `volumeMount` of
//! `volumeMounts`, both at least 4 characters) as just close enough; the first candidate wins a
//! tie.

/// The candidate closest to `word`, when one is close enough to be a likely typo: an edit
/// distance (ignoring case, transpositions count as one edit) of at most a third of the word's
/// length (at least 1), or one being a prefix of the other (at least 4 characters).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let cand = candidate.to_lowercase();
        let mut d = distance(&lower, &cand);
        let shorter = lower.chars().count().min(cand.chars().count());
        if d > limit && shorter >= 4 && (cand.starts_with(&lower) || lower.starts_with(&cand)) {
            d = limit;
        }
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance between `a` and `b` (in characters).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("detatch", "detach"), 1);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_candidates() {
        let keys = ["detach", "volumeMounts", "workingDirectory", "when", "id"];
        assert_eq!(closest("detatch", keys), Some("detach"));
        assert_eq!(closest("volumeMount", keys), Some("volumeMounts"));
        assert_eq!(closest("workingDir", keys), Some("workingDirectory"));
        assert_eq!(closest("WHEN", keys), Some("when"));
        assert_eq!(closest("zzzzzz", keys), None);
        assert_eq!(closest("x", keys), None);
    }

    #[test]
    fn closest_flags() {
        let flags = [
            "build-arg",
            "tag",
            "no-cache",
            "privileged",
            "pid",
            "cpus",
            "cpu-count",
        ];
        assert_eq!(closest("build-args", flags), Some("build-arg"));
        assert_eq!(closest("priv", flags), Some("privileged"));
        assert_eq!(closest("cpu", flags), Some("cpus"));
        assert_eq!(closest("no-cahce", flags), Some("no-cache"));
        assert_eq!(closest("zzzzzz", flags), None);
        assert_eq!(closest(&"x".repeat(10_000), flags), None);
        assert_eq!(distance("é", "e"), 1);
    }
}
