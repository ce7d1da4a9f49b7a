"""Pages that follow the user shown on the Recommendations page, lazily."""
from __future__ import annotations

from PySide6.QtGui import QShowEvent

from ..logic.missing_user import CHECKING_TEXT, missing_user_text
from ..services.workers import run_or_submit


class FollowsUser:
    """Mixin for a QWidget page with ``show_user(user_id)``, ``current_user`` and
    ``_pending_user``: a followed user is shown now if the page is visible, else when it is."""

    current_user: int | str | None
    no_model_text: str = "Train a model first."
    _pending_user: int | str | None

    def _start_showing(self, user_id: int | str):  # noqa: ANN202 - core.recommend.Recommender | None
        """Common start of ``show_user``: the page's user picker shows ``user_id``; returns the
        recommender, or None after showing the no-model message."""
        recommender = self.state.recommender  # type: ignore[attr-defined]
        self._pending_user = None
        if recommender is None or not self.state.model_has_data:  # type: ignore[attr-defined]
            self.message.show_message(self.no_model_text, error=True)  # type: ignore[attr-defined]
            return None
        self.picker.set_user(user_id)  # type: ignore[attr-defined]
        if user_id not in recommender.histories:  # unknown, or every interaction filtered out
            self._user_missing()
            self._explain_missing(user_id)
            return None
        return recommender

    def _user_missing(self) -> None:
        """Clear what the page shows of the previous user (a page overrides it)."""

    def _explain_missing(self, user_id: int | str) -> None:
        """Say why ``user_id`` has no history: not in the data, or which filter settings removed
        them (worked out in the background when the page has a runner)."""
        state, message = self.state, self.message  # type: ignore[attr-defined]
        message.show_message(CHECKING_TEXT.format(user=user_id), error=True)
        model, data, filtered = state.model, state.data, state.filtered
        if model is None:
            return

        def done(text: str) -> None:
            if state.model is model and self._pending_user is None:
                message.show_message(text, error=True)

        run_or_submit(
            getattr(self, "runner", None), "missing-user",
            lambda: missing_user_text(user_id, model, data, filtered.result if filtered else None,
                                      filtered.config if filtered else None),
            done, lambda exc: done(f"User {user_id} has no history the model can recommend from ({exc})."),
        )

    def follow_user(self, user_id: int | str) -> None:
        """The recommendations page showed ``user_id``: follow it (now if visible, else when shown)."""
        if user_id == self.current_user:
            return
        if self.isVisible():  # type: ignore[attr-defined]
            self.show_user(user_id)  # type: ignore[attr-defined]
        else:
            self._pending_user = user_id

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)  # type: ignore[misc]
        if self._pending_user is not None:
            user, self._pending_user = self._pending_user, None
            self.show_user(user)  # type: ignore[attr-defined]
