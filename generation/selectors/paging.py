"""Pages of long lists read "keys first, then rows": a page's primary keys by the list's own query, whose OFFSET then
skips over an index alone, and only then the rows of those keys with what is computed for each (progress counts,
joins). Asked with an OFFSET, PostgreSQL would compute those for every row it skipped, so a deep page would cost the
whole list. No models here: the bench reads the page sizes before Django is set up."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.core.paginator import Page, Paginator

TASKS_PER_PAGE = 25  # the site's task list (selectors.task_list_page)
# The deepest row an admin list's pages reach (generation.admin.EstimatedCountPaginator.num_pages).
DEEPEST_ROW = 20_000


class KeysFirstPaginator(Paginator):
    """A Paginator over a queryset whose pages are read keys first; `rows_of(keys)` answers the rows of those keys in
    the list's order (the hook where a caller adds its computed columns or joins, or drops the list's search)."""

    def __init__(
        self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, rows_of: Callable[[list], Sequence]
    ) -> None:
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.rows_of = rows_of

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._get_page(self.rows_of(keys) if keys else [], number, self)
