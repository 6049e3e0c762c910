//! Inductive Venn–Abers probabilities (Vovk and Petej, 2014).
//!
//! Conformal p-values say how unusual a score is for a class; they are not
//! probabilities, and a SOC's "how sure" should be one: of the windows told
//! "attack, 0.9", about nine in ten should be attacks. Venn–Abers gets
//! there from the same labelled calibration scores without assuming a
//! shape: fit isotonic regression (label on score) to the calibration set
//! with the test score added once as benign and once as attack; the two
//! fitted values at the test score, `p0 <= p1`, bracket the probability of
//! `attack`, and the pair is well calibrated in a finite-sample sense
//! under exchangeability. One number for display and decisions is
//! `p1 / (1 - p0 + p1)`, the merge that minimises log loss.

/// Venn–Abers interval `(p0, p1)` of `attack` for `score`, from ascending
/// benign and attack calibration scores. `None` unless both classes have at
/// least one score.
pub fn interval(benign: &[f64], attack: &[f64], score: f64) -> Option<(f64, f64)> {
    if benign.is_empty() || attack.is_empty() {
        return None;
    }
    // Groups of equal scores (isotonic fits give tied scores one value):
    // (score, weight, attacks), ascending by score, the test score included
    // with weight 0 so that it has a group to read the fit from.
    let mut groups: Vec<(f64, f64, f64)> = Vec::with_capacity(benign.len() + attack.len() + 1);
    let (mut i, mut j) = (0, 0);
    let mut test_placed = false;
    loop {
        let next_b = benign.get(i).copied();
        let next_a = attack.get(j).copied();
        let x = match (next_b, next_a) {
            (Some(b), Some(a)) => b.min(a),
            (Some(b), None) => b,
            (None, Some(a)) => a,
            (None, None) => break,
        };
        if !test_placed && score < x {
            groups.push((score, 0.0, 0.0));
            test_placed = true;
            continue;
        }
        let mut w = 0.0;
        let mut pos = 0.0;
        while benign.get(i) == Some(&x) {
            w += 1.0;
            i += 1;
        }
        while attack.get(j) == Some(&x) {
            w += 1.0;
            pos += 1.0;
            j += 1;
        }
        groups.push((x, w, pos));
        if x == score {
            test_placed = true;
        }
    }
    if !test_placed {
        groups.push((score, 0.0, 0.0));
    }
    let at = groups.iter().position(|g| g.0 == score)?;
    let fit_with = |label: f64| {
        let mut g = groups.clone();
        g[at].1 += 1.0;
        g[at].2 += label;
        isotonic_at(&g, at)
    };
    Some((fit_with(0.0), fit_with(1.0)))
}

/// The merged probability `p1 / (1 - p0 + p1)` of an interval.
pub fn merged((p0, p1): (f64, f64)) -> f64 {
    p1 / (1.0 - p0 + p1)
}

/// Pool-adjacent-violators on `(score, weight, positives)` groups (ascending
/// by score), returning the fitted mean of group `at`. Groups of weight 0
/// take their block's value.
fn isotonic_at(groups: &[(f64, f64, f64)], at: usize) -> f64 {
    // Blocks: (weight, positives, first group, last group).
    let mut blocks: Vec<(f64, f64, usize, usize)> = Vec::with_capacity(groups.len());
    for (k, &(_, w, pos)) in groups.iter().enumerate() {
        blocks.push((w, pos, k, k));
        while blocks.len() >= 2 {
            let n = blocks.len();
            let (w2, p2, _, l2) = blocks[n - 1];
            let (w1, p1, f1, _) = blocks[n - 2];
            // Merge while the earlier block's mean exceeds the later one's
            // (a weightless block takes its neighbour's mean).
            let violates = w2 == 0.0 || (w1 > 0.0 && p1 / w1 > p2 / w2);
            if !violates {
                break;
            }
            blocks.truncate(n - 2);
            blocks.push((w1 + w2, p1 + p2, f1, l2));
        }
    }
    blocks
        .iter()
        .find(|b| b.2 <= at && at <= b.3)
        .map_or(0.5, |b| if b.0 > 0.0 { b.1 / b.0 } else { 0.5 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_scores_by_hand() {
        let benign = [1.0, 2.0, 3.0];
        let attack = [10.0, 11.0];
        // Below everything: with label 0 the lowest block is all benign (0);
        // with label 1 it pools with the benign scores above it: 1/4.
        let (p0, p1) = interval(&benign, &attack, 0.5).unwrap();
        assert_eq!(p0, 0.0);
        assert_eq!(p1, 0.25);
        assert!((merged((p0, p1)) - 0.2).abs() < 1e-12);
        // Above everything: label 1 keeps it attack (1); label 0 pools it
        // with the two attacks: 2/3.
        let (p0, p1) = interval(&benign, &attack, 20.0).unwrap();
        assert!((p0 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(p1, 1.0);
        // Between the classes: nothing to pool with on either side.
        let (p0, p1) = interval(&benign, &attack, 5.0).unwrap();
        assert_eq!((p0, p1), (0.0, 1.0));
        assert!((merged((p0, p1)) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ties_share_one_value() {
        // An attack tied with a benign score at 2: the tie is one group.
        let (p0, p1) = interval(&[1.0, 2.0], &[2.0, 3.0], 2.0).unwrap();
        // label 0 at 2: group {b, a, test0} = 1/3; label 1: {b, a, test1} = 2/3
        assert!((p0 - 1.0 / 3.0).abs() < 1e-12);
        assert!((p1 - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn monotone_in_the_score_and_ordered() {
        let benign: Vec<f64> = (0..50).map(|i| f64::from(i) / 10.0).collect();
        let attack: Vec<f64> = (0..10).map(|i| 3.0 + f64::from(i) / 2.0).collect();
        let mut last = 0.0;
        for k in 0..100 {
            let s = f64::from(k) / 10.0;
            let (p0, p1) = interval(&benign, &attack, s).unwrap();
            assert!(p0 <= p1, "{s}: {p0} > {p1}");
            let p = merged((p0, p1));
            assert!((0.0..=1.0).contains(&p));
            assert!(p + 1e-12 >= last, "{s}: {p} < {last}");
            last = p;
        }
    }

    #[test]
    fn one_class_has_no_interval() {
        assert_eq!(interval(&[1.0], &[], 1.0), None);
        assert_eq!(interval(&[], &[1.0], 1.0), None);
    }
}
