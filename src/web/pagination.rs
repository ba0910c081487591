//! Page arithmetic for lists: which rows to fetch and which page links to show.

/// One page of a list of `total` items, `per_page` at a time. Pages count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    page: u32,
    per_page: u32,
    total: u64,
}

/// An entry in the row of page links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageLink {
    Page(u32),
    Gap,
}

impl Pagination {
    /// A requested page, clamped into `1..=last` so that a page past the end shows the
    /// last page rather than an empty list.
    pub fn new(requested: u32, per_page: u32, total: u64) -> Self {
        let per_page = per_page.max(1);
        let mut pagination = Pagination {
            page: 1,
            per_page,
            total,
        };
        pagination.page = requested.clamp(1, pagination.last_page());
        pagination
    }

    pub fn page(&self) -> u32 {
        self.page
    }

    pub fn per_page(&self) -> u32 {
        self.per_page
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The number of the last page; an empty list still has page 1.
    pub fn last_page(&self) -> u32 {
        let pages = self.total.div_ceil(u64::from(self.per_page)).max(1);
        u32::try_from(pages).unwrap_or(u32::MAX)
    }

    /// Rows to skip, for `OFFSET`.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn previous(&self) -> Option<u32> {
        (self.page > 1).then(|| self.page - 1)
    }

    pub fn next(&self) -> Option<u32> {
        (self.page < self.last_page()).then(|| self.page + 1)
    }

    /// 1-based positions of the first and last item on this page, for "Showing 25–48".
    pub fn shown_range(&self) -> (u64, u64) {
        if self.total == 0 {
            return (0, 0);
        }
        let first = self.offset().unsigned_abs() + 1;
        let last = (first + u64::from(self.per_page) - 1).min(self.total);
        (first, last)
    }

    /// The first page, the last, and two either side of the current one, with gaps.
    pub fn links(&self) -> Vec<PageLink> {
        let last = self.last_page();
        let near = self.page.saturating_sub(2).max(1)..=self.page.saturating_add(2).min(last);
        let mut wanted: Vec<u32> = vec![1];
        wanted.extend(near);
        wanted.push(last);
        wanted.dedup();

        let mut links = Vec::with_capacity(wanted.len() + 2);
        let mut previous = 0;
        for page in wanted {
            if page <= previous {
                continue;
            }
            if page > previous + 1 && previous != 0 {
                links.push(PageLink::Gap);
            }
            links.push(PageLink::Page(page));
            previous = page;
        }
        links
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PageLink::{Gap, Page};

    #[test]
    fn the_first_page_starts_at_offset_zero() {
        let p = Pagination::new(1, 24, 100);
        assert_eq!((p.offset(), p.limit(), p.last_page()), (0, 24, 5));
        assert_eq!(p.shown_range(), (1, 24));
    }

    #[test]
    fn a_page_past_the_end_is_clamped_to_the_last() {
        let p = Pagination::new(99, 24, 100);
        assert_eq!(p.page(), 5);
        assert_eq!(p.offset(), 96);
        assert_eq!(p.shown_range(), (97, 100));
        assert_eq!(p.next(), None);
        assert_eq!(p.previous(), Some(4));
    }

    #[test]
    fn page_zero_and_an_empty_list_show_page_one() {
        let p = Pagination::new(0, 24, 0);
        assert_eq!((p.page(), p.last_page(), p.offset()), (1, 1, 0));
        assert_eq!(p.shown_range(), (0, 0));
        assert_eq!(p.links(), vec![Page(1)]);
    }

    #[test]
    fn the_largest_page_number_does_not_overflow() {
        let p = Pagination::new(u32::MAX, 1, u64::MAX);
        assert_eq!(p.page(), u32::MAX);
        assert!(p.offset() > 0);
    }

    #[test]
    fn links_show_both_ends_and_the_neighbourhood_with_gaps() {
        let p = Pagination::new(10, 10, 200);
        assert_eq!(
            p.links(),
            vec![
                Page(1),
                Gap,
                Page(8),
                Page(9),
                Page(10),
                Page(11),
                Page(12),
                Gap,
                Page(20)
            ]
        );
        let p = Pagination::new(2, 10, 50);
        assert_eq!(p.links(), vec![Page(1), Page(2), Page(3), Page(4), Page(5)]);
    }
}
