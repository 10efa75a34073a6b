"""ProjectionStoreContract: the conformance suite every projection store passes.

A backend's test module subclasses the contract and supplies
``projection_store_factory``: a callable that opens the store *on this test's
storage*; two calls give two handles on the same data (the way two processes
share one database). A store kept in one process's memory sets
``shares_storage = False`` and its factory returns the same object::

    class TestMyProjectionStore(ProjectionStoreContract):
        @pytest.fixture
        def projection_store_factory(self, tmp_path):
            return functools.partial(MyProjectionStore, tmp_path / "events.db")

The tests check the promises ``flext_eventsourcing.projection.ProjectionStore``
makes (generations, the conditional atomic ``commit``, ``get_many``,
``promote`` swapping views in one step, failures that freeze a generation)
and then run ``ProjectionRunner`` on top: exactly-once catch-up, read-ahead,
a runner that loses a commit to another one, a rebuild that readers never
see half-done, and a rebuild on a version change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flext_eventsourcing import (
    NO_STREAM,
    PROJECTION_FAILED,
    Document,
    InMemoryEventStore,
    Projection,
    ProjectionRunner,
    ProjectionState,
    ProjectionStore,
    ProjectionStoreError,
    ReadModel,
    RecordedEvent,
    UnknownEvent,
    when,
)
from flext_kernel.errors import CONCURRENCY_CONFLICT, DESERIALIZATION_ERROR, UNKNOWN_MESSAGE_TYPE
from flext_kernel.messages import FlextDomainEvent

__all__ = ["Deposited", "ProjectionStoreContract", "ProjectionStoreFactory", "Totals"]

ProjectionStoreFactory = Callable[[], ProjectionStore]
"""Opens the store under test on the test's storage."""


class Deposited(FlextDomainEvent):
    """The contract's event: an amount paid into the stream's account."""

    message_type: ClassVar[str | None] = "contract.Deposited"
    amount: int


class _Unrelated(FlextDomainEvent):
    """An event class only the contract's ``Other`` projection handles; never stored."""

    message_type: ClassVar[str | None] = "contract.Unrelated"


class Totals(Projection):
    """Sums deposits per account, and counts the events it saw in ``_count``."""

    name = "contract-totals"
    version = 1

    @when(Deposited)
    def _deposited(self, event: RecordedEvent, model: ReadModel) -> None:
        assert isinstance(event.event, Deposited)
        document = model.get(event.stream_id) or {"total": 0, "events": 0}
        model.put(
            event.stream_id,
            {"total": document["total"] + event.event.amount, "events": document["events"] + 1},
        )
        seen = model.get("_count") or {"n": 0}
        model.put("_count", {"n": seen["n"] + 1})


class _ReadingAhead(Totals):
    """``Totals`` naming the documents it reads, so the runner reads them ahead."""

    def read_keys(self, events: Sequence[RecordedEvent]) -> Iterable[str]:
        return [*(event.stream_id for event in events), "_count"]


class _Counting:
    """A projection store that records which keys ``get`` and ``get_many`` were asked for."""

    def __init__(self, store: ProjectionStore) -> None:
        self.store = store
        self.gets: list[str] = []
        self.get_manys: list[list[str]] = []

    def get(self, name: str, generation: int, key: str) -> Document | None:
        self.gets.append(key)
        return self.store.get(name, generation, key)

    def get_many(self, name: str, generation: int, keys: Iterable[str]) -> dict[str, Document]:
        wanted = list(keys)
        self.get_manys.append(wanted)
        return self.store.get_many(name, generation, wanted)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.store, attribute)


_WRITTEN_ELSEWHERE: Final[dict[str, Document | None]] = {
    "acc-1": {"total": 100, "events": 1},
    "_count": {"n": 100},
}
"""What another runner commits for ``Totals`` while the one under test works (see ``_interrupted_at``)."""


def _interrupted_at(position: int, interfere: Callable[[], None]) -> Totals:
    """A ``Totals`` that calls ``interfere`` once, on reaching ``position``, before handling that event."""
    pending = [True]

    class Interrupted(Totals):
        def handle(self, event: RecordedEvent, model: ReadModel) -> None:
            if event.position == position and pending:
                pending.clear()
                interfere()
            super().handle(event, model)

    return Interrupted()


class ProjectionStoreContract:
    """Subclass it and provide ``projection_store_factory``; every test below then runs on your store."""

    shares_storage: ClassVar[bool] = True
    """False for a store kept in one object's memory (the factory returns that object)."""

    @pytest.fixture
    def projection_store_factory(self) -> ProjectionStoreFactory:
        """Override: open the store under test on this test's storage."""
        raise NotImplementedError("override the projection_store_factory fixture in your test class")

    @pytest.fixture
    def open_projection_store(
        self, projection_store_factory: ProjectionStoreFactory
    ) -> Iterator[ProjectionStoreFactory]:
        """Open handles through the factory; each is closed after the test."""
        opened: list[ProjectionStore] = []

        def open_() -> ProjectionStore:
            store = projection_store_factory()
            opened.append(store)
            return store

        yield open_
        for store in opened:
            store.close()

    @pytest.fixture
    def projections(self, open_projection_store: ProjectionStoreFactory) -> ProjectionStore:
        """One handle on the store under test."""
        return open_projection_store()

    # The store itself.

    def test_a_new_generation_is_empty_and_building(self, projections: ProjectionStore) -> None:
        """Generations are numbered from 1 per projection and start empty, building, at position 0."""
        first = projections.create_generation("totals", 3)
        second = projections.create_generation("totals", 3)
        assert (first.generation, second.generation) == (1, 2)
        assert (first.state, first.position, first.version, first.error) == (
            ProjectionState.BUILDING,
            0,
            3,
            None,
        )
        assert [c.generation for c in projections.checkpoints("totals")] == [1, 2]
        assert projections.get("totals", 1, "a") is None
        assert list(projections.documents("totals", 1)) == []
        assert list(projections.documents("totals")) == [], (
            "a projection with no live generation shows nothing"
        )

    def test_commit_writes_documents_and_checkpoint_together(self, projections: ProjectionStore) -> None:
        """``commit`` applies puts and deletes and moves the checkpoint."""
        projections.create_generation("totals", 1)
        assert projections.commit("totals", 1, 0, 7, {"a": {"total": 1}, "b": {"total": 2}})
        assert projections.commit("totals", 1, 7, 9, {"a": {"total": 5, "tags": ["x"]}, "b": None})
        assert projections.get("totals", 1, "a") == {"total": 5, "tags": ["x"]}
        assert projections.get("totals", 1, "b") is None
        assert list(projections.documents("totals", 1)) == [("a", {"total": 5, "tags": ["x"]})]
        (checkpoint,) = projections.checkpoints("totals")
        assert checkpoint.position == 9

    def test_get_many_reads_the_documents_that_exist(self, projections: ProjectionStore) -> None:
        """``get_many`` returns the keys it finds with their documents, and leaves out the others."""
        projections.create_generation("totals", 1)
        assert projections.commit("totals", 1, 0, 3, {"a": {"total": 1}, "b": {"n": [1, {"x": None}]}})
        assert projections.get_many("totals", 1, ["b", "zz", "a", "b"]) == {
            "a": {"total": 1},
            "b": {"n": [1, {"x": None}]},
        }
        assert projections.get_many("totals", 1, []) == {}
        assert projections.get_many("totals", 1, iter(["a"])) == {"a": {"total": 1}}, "any iterable"
        assert projections.get_many("totals", 2, ["a"]) == {}, "no such generation"
        keys = [f"k{i}" for i in range(1200)]
        assert projections.commit("totals", 1, 3, 4, {key: {"v": i} for i, key in enumerate(keys)})
        found = projections.get_many("totals", 1, keys)
        assert found == {key: {"v": i} for i, key in enumerate(keys)}, "more keys than one query holds"

    def test_a_handle_uses_a_generation_another_handle_dropped_and_made_again(
        self, open_projection_store: ProjectionStoreFactory
    ) -> None:
        """A store that remembers where a generation lives notices when another handle replaced it.

        Reads and commits go to the generation as it is now: never to a dropped
        one, nor to another projection's table that took its place in storage.
        """
        if not self.shares_storage:
            pytest.skip(f"{type(self).__name__} keeps its data in one object (shares_storage = False)")
        reader, writer = open_projection_store(), open_projection_store()
        reader.create_generation("totals", 1)
        assert reader.commit("totals", 1, 0, 1, {"a": {"v": "old"}})
        for _ in range(8):  # often enough for a driver to prepare the statement
            assert reader.get("totals", 1, "a") == {"v": "old"}
            assert reader.get_many("totals", 1, ["a"]) == {"a": {"v": "old"}}
        writer.drop("totals")
        assert reader.get("totals", 1, "a") is None, "the generation is gone"
        assert reader.get_many("totals", 1, ["a"]) == {}
        writer.create_generation("other", 1)  # may take the dropped generation's place in storage
        assert writer.commit("other", 1, 0, 1, {"a": {"v": "other"}})
        assert reader.get("totals", 1, "a") is None, "another projection's documents are not these"
        assert writer.create_generation("totals", 1).generation == 2
        assert writer.commit("totals", 2, 0, 2, {"a": {"v": "new"}})
        assert reader.get("totals", 1, "a") is None, "generation 1 is gone for good"
        assert reader.get("totals", 2, "a") == {"v": "new"}
        assert reader.get_many("totals", 2, ["a"]) == {"a": {"v": "new"}}
        assert not reader.commit("totals", 2, 1, 3, {"a": {"v": "stale"}}), "the new one is at 2"
        assert reader.commit("totals", 2, 2, 3, {"b": {"v": "by reader"}})
        assert dict(writer.documents("totals", 2)) == {"a": {"v": "new"}, "b": {"v": "by reader"}}
        writer.drop("totals")
        assert not reader.commit("totals", 2, 3, 4, {"a": {"v": "late"}}), "no such generation any more"
        assert writer.checkpoints("totals") == []

    def test_generation_numbers_are_never_given_twice(
        self, open_projection_store: ProjectionStoreFactory
    ) -> None:
        """A dropped generation's number is not given again, by this handle or another; per projection.

        A commit names a generation and a position, and a runner keeps the
        documents it committed between commits: if a build dropped and started
        afresh took the old number, a runner still on the old build could
        commit into the new one when both reached the same position.
        """
        projections = open_projection_store()
        assert [projections.create_generation("totals", 1).generation for _ in range(3)] == [1, 2, 3]
        projections.drop("totals", 3)
        assert projections.create_generation("totals", 1).generation == 4, "not the dropped 3"
        projections.drop("totals")
        other = open_projection_store() if self.shares_storage else projections
        assert other.create_generation("totals", 1).generation == 5, "not 1, with every generation gone"
        assert other.create_generation("other", 1).generation == 1

    def test_a_commit_from_a_stale_checkpoint_writes_nothing(self, projections: ProjectionStore) -> None:
        """A commit whose expected position is stale, or whose generation is missing, changes nothing."""
        projections.create_generation("totals", 1)
        assert projections.commit("totals", 1, 0, 5, {"a": {"total": 1}})
        assert not projections.commit("totals", 1, 0, 6, {"a": {"total": 99}, "z": {"total": 1}})
        assert not projections.commit("totals", 2, 0, 6, {"a": {"total": 99}}), "no such generation"
        assert projections.get("totals", 1, "a") == {"total": 1}
        assert projections.get("totals", 1, "z") is None
        assert projections.checkpoints("totals")[0].position == 5

    def test_a_document_that_is_not_json_is_refused_and_nothing_is_written(
        self, projections: ProjectionStore
    ) -> None:
        """A non-JSON document raises ``ProjectionStoreError`` and the batch is not half-written."""
        projections.create_generation("totals", 1)
        with pytest.raises(ProjectionStoreError):
            projections.commit("totals", 1, 0, 5, {"a": {"total": 1}, "b": {"when": object()}})
        assert projections.get("totals", 1, "a") is None
        assert projections.checkpoints("totals")[0].position == 0

    def test_promote_swaps_generations_at_once_and_drops_the_old(self, projections: ProjectionStore) -> None:
        """Readers see the live generation until ``promote`` swaps in the new one and drops the old."""
        projections.create_generation("totals", 1)
        projections.commit("totals", 1, 0, 3, {"a": {"v": 1}})
        assert projections.promote("totals", 1)
        projections.create_generation("totals", 2)
        projections.commit("totals", 2, 0, 4, {"a": {"v": 2}, "b": {"v": 2}})
        assert list(projections.documents("totals")) == [("a", {"v": 1})], "readers see the live one"
        assert projections.promote("totals", 2)
        assert list(projections.documents("totals")) == [("a", {"v": 2}), ("b", {"v": 2})]
        (only,) = projections.checkpoints("totals")
        assert (only.generation, only.state, only.version) == (2, ProjectionState.LIVE, 2)
        assert not projections.promote("totals", 1), "the old generation is gone"

    def test_a_failed_generation_keeps_its_documents_and_takes_no_more_commits(
        self, projections: ProjectionStore
    ) -> None:
        """``mark_failed`` freezes a generation; its documents stay readable."""
        projections.create_generation("totals", 1)
        projections.commit("totals", 1, 0, 3, {"a": {"v": 1}})
        projections.promote("totals", 1)
        projections.mark_failed("totals", 1, "ValueError at position 4")
        (checkpoint,) = projections.checkpoints("totals")
        assert checkpoint.failed
        assert checkpoint.error == "ValueError at position 4"
        assert checkpoint.state is ProjectionState.LIVE
        assert not projections.commit("totals", 1, 3, 5, {"a": {"v": 2}})
        assert list(projections.documents("totals")) == [("a", {"v": 1})], "readers keep the last good view"

    def test_drop_removes_generations_and_their_documents(self, projections: ProjectionStore) -> None:
        """``drop`` removes one generation or all of a projection, and nothing else."""
        projections.create_generation("totals", 1)
        projections.commit("totals", 1, 0, 3, {"a": {"v": 1}})
        projections.promote("totals", 1)
        projections.create_generation("totals", 1)
        projections.create_generation("other", 1)
        projections.drop("totals", 2)
        assert [c.generation for c in projections.checkpoints("totals")] == [1]
        projections.drop("totals")
        assert projections.checkpoints("totals") == []
        assert list(projections.documents("totals")) == []
        assert [c.name for c in projections.checkpoints()] == ["other"]

    def test_concurrent_commits_from_one_checkpoint_let_exactly_one_through(
        self, open_projection_store: ProjectionStoreFactory
    ) -> None:
        """Racing commits from the same checkpoint: exactly one wins, and its documents are the ones kept."""
        setup = open_projection_store()
        setup.create_generation("totals", 1)
        handles = [open_projection_store() for _ in range(4)]
        barrier = threading.Barrier(len(handles))
        outcomes: list[bool] = []

        def commit(index: int) -> None:
            barrier.wait()
            outcomes.append(handles[index].commit("totals", 1, 0, 10 + index, {"k": {"by": index}}))

        threads = [threading.Thread(target=commit, args=(i,)) for i in range(len(handles))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == [False, False, False, True]
        (checkpoint,) = setup.checkpoints("totals")
        winner = checkpoint.position - 10
        assert setup.get("totals", 1, "k") == {"by": winner}

    def test_another_handle_sees_committed_state(self, open_projection_store: ProjectionStoreFactory) -> None:
        """What one handle committed, another handle (a restarted process) reads."""
        if not self.shares_storage:
            pytest.skip(f"{type(self).__name__} keeps its data in one object (shares_storage = False)")
        writer = open_projection_store()
        writer.create_generation("totals", 1)
        writer.commit("totals", 1, 0, 3, {"a": {"v": 1}})
        writer.promote("totals", 1)
        writer.close()
        reader = open_projection_store()
        assert list(reader.documents("totals")) == [("a", {"v": 1})]
        assert reader.checkpoints("totals")[0].position == 3

    @given(
        batches=st.lists(
            st.dictionaries(
                st.sampled_from(["a", "b", "c", "d"]),
                st.one_of(st.none(), st.fixed_dictionaries({"n": st.integers(-(2**53), 2**53)})),
                max_size=4,
            ),
            max_size=6,
        )
    )
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    def test_committed_documents_equal_a_dict_model(
        self, projections: ProjectionStore, batches: list[dict[str, Document | None]]
    ) -> None:
        """Any sequence of commits leaves the documents a plain dict would hold."""
        projections.drop("model")
        generation = projections.create_generation("model", 1).generation
        expected: dict[str, Document] = {}
        for position, changes in enumerate(batches, start=1):
            assert projections.commit("model", generation, position - 1, position, changes)
            for key, document in changes.items():
                if document is None:
                    expected.pop(key, None)
                else:
                    expected[key] = document
        assert dict(projections.documents("model", generation)) == expected

    # The runner on top.

    def _deposit(self, events: InMemoryEventStore, account: str, *amounts: int) -> None:
        result = events.append(
            account, [Deposited(aggregate_id=account, amount=a) for a in amounts], NO_STREAM
        )
        assert result.is_success, result.error

    def test_the_runner_takes_each_event_exactly_once(self, projections: ProjectionStore) -> None:
        """``ProjectionRunner.catch_up`` on this store handles every event once, across calls."""
        events = InMemoryEventStore()
        self._deposit(events, "acc-1", 10, 20)
        self._deposit(events, "acc-2", 5)
        runner = ProjectionRunner(events, projections, [Totals()], batch_size=2)
        assert runner.catch_up().unwrap() == {"contract-totals": 3}
        assert runner.catch_up().unwrap() == {"contract-totals": 0}, "nothing new, nothing handled"
        self._deposit(events, "acc-3", 1)
        assert runner.catch_up().unwrap() == {"contract-totals": 1}
        view = dict(projections.documents("contract-totals"))
        assert view["acc-1"] == {"total": 30, "events": 2}
        assert view["_count"] == {"n": 4}
        (status,) = runner.status().unwrap()
        assert status.state == "live"

    def test_the_runner_reads_ahead_the_keys_a_projection_names(self, projections: ProjectionStore) -> None:
        """With ``read_keys``, the documents a batch needs come from one ``get_many``, not a ``get`` each."""
        events = InMemoryEventStore()
        for i in range(6):
            self._deposit(events, f"acc-{i}", i + 1)
        ProjectionRunner(events, projections, [Totals()], batch_size=6).catch_up().unwrap()
        for i in range(6):
            assert events.append(f"acc-{i}", [Deposited(aggregate_id=f"acc-{i}", amount=10)], 1).is_success
        counting = _Counting(projections)
        runner = ProjectionRunner(events, counting, [_ReadingAhead()], batch_size=4)
        assert runner.catch_up().unwrap() == {"contract-totals": 6}
        view = dict(projections.documents("contract-totals"))
        assert view["_count"] == {"n": 12}
        assert all(view[f"acc-{i}"] == {"total": i + 11, "events": 2} for i in range(6))
        assert counting.gets == [], "every document read ahead"
        assert [len(keys) for keys in counting.get_manys] == [5, 2], "one get_many per batch, of what is new"

    def test_a_runner_that_loses_a_commit_forgets_the_documents_it_held(
        self, open_projection_store: ProjectionStoreFactory
    ) -> None:
        """After another runner commits first, this runner's next catch-up reads that runner's documents."""
        events = InMemoryEventStore()
        self._deposit(events, "acc-1", 1, 1, 1, 1)  # positions 1 to 4
        other = open_projection_store()

        def take_event_3() -> None:  # another runner takes event 3 while this one works on it
            assert other.commit(Totals.name, 1, 2, 3, dict(_WRITTEN_ELSEWHERE))

        raced = _interrupted_at(3, take_event_3)
        runner = ProjectionRunner(events, open_projection_store(), [raced], batch_size=2)
        lost = runner.catch_up()
        assert lost.error_code == CONCURRENCY_CONFLICT, lost
        assert dict(other.documents("contract-totals", 1))["acc-1"] == {"total": 100, "events": 1}
        assert runner.catch_up().unwrap() == {"contract-totals": 1}, "event 4, after the other's checkpoint"
        view = dict(other.documents("contract-totals"))
        assert view["acc-1"] == {"total": 101, "events": 2}, "built on the other runner's document"
        assert view["_count"] == {"n": 101}

    def test_a_runner_never_commits_into_a_build_that_replaced_its_own(
        self, open_projection_store: ProjectionStoreFactory
    ) -> None:
        """A build dropped and started afresh elsewhere, to the same position, fails this runner's commit."""
        events = InMemoryEventStore()
        self._deposit(events, "acc-1", 1, 1, 1, 1)  # positions 1 to 4
        other = open_projection_store()

        def start_afresh() -> None:
            # Another process abandons this build (a rebuild does that to a building generation)
            # and starts afresh, from other data, as far as this one got.
            other.drop(Totals.name, 1)
            fresh = other.create_generation(Totals.name, Totals.version)
            assert other.commit(Totals.name, fresh.generation, 0, 2, dict(_WRITTEN_ELSEWHERE))

        replaced = _interrupted_at(3, start_afresh)
        runner = ProjectionRunner(events, open_projection_store(), [replaced], batch_size=2)
        lost = runner.catch_up()
        assert lost.error_code == CONCURRENCY_CONFLICT, lost
        assert runner.catch_up().unwrap() == {"contract-totals": 2}, "events 3 and 4, on the fresh build"
        view = dict(other.documents("contract-totals"))
        assert view["acc-1"] == {"total": 102, "events": 3}, "built on the fresh build's document"
        assert view["_count"] == {"n": 102}

    def test_a_rebuild_is_invisible_until_it_is_complete(self, projections: ProjectionStore) -> None:
        """During ``rebuild`` readers see the old view; afterwards the new generation alone."""
        events = InMemoryEventStore()
        for i in range(5):
            self._deposit(events, f"acc-{i}", i + 1)
        runner = ProjectionRunner(events, projections, [Totals()], batch_size=2)
        runner.catch_up().unwrap()
        before = list(projections.documents("contract-totals"))
        seen_during: list[list[tuple[str, Document]]] = []
        original = Totals._deposited

        class Watching(Totals):
            @when(Deposited)
            def _deposited(self, event: RecordedEvent, model: ReadModel) -> None:
                seen_during.append(list(projections.documents("contract-totals")))
                original(self, event, model)

        rebuilding = ProjectionRunner(events, projections, [Watching()], batch_size=2)
        rebuilt = rebuilding.rebuild("contract-totals").unwrap()
        assert rebuilt.generation == 2
        assert rebuilt.state is ProjectionState.LIVE
        assert seen_during
        assert all(view == before for view in seen_during)
        assert list(projections.documents("contract-totals")) == before
        assert [c.generation for c in projections.checkpoints("contract-totals")] == [2]

    def test_a_new_version_is_rebuilt_and_swapped_in(self, projections: ProjectionStore) -> None:
        """A projection whose ``version`` changed is rebuilt into a new generation and promoted."""
        events = InMemoryEventStore()
        self._deposit(events, "acc-1", 10)
        ProjectionRunner(events, projections, [Totals()]).catch_up().unwrap()

        class Doubled(Totals):
            version = 2

            @when(Deposited)
            def _deposited(self, event: RecordedEvent, model: ReadModel) -> None:
                assert isinstance(event.event, Deposited)
                model.put(event.stream_id, {"total": 2 * event.event.amount, "events": 1})

        runner = ProjectionRunner(events, projections, [Doubled()])
        assert runner.status().unwrap()[0].state == "stale"
        runner.catch_up().unwrap()
        assert dict(projections.documents("contract-totals")) == {"acc-1": {"total": 20, "events": 1}}
        (checkpoint,) = projections.checkpoints("contract-totals")
        assert (checkpoint.version, checkpoint.generation) == (2, 2)

    def test_a_raising_projection_is_frozen_at_the_event_and_others_carry_on(
        self, projections: ProjectionStore
    ) -> None:
        """A projection that raises is marked failed at the event; the other projections still run."""
        events = InMemoryEventStore()
        self._deposit(events, "acc-1", 10)
        self._deposit(events, "bad", 1)

        class Fragile(Totals):
            name = "contract-fragile"

            @when(Deposited)
            def _deposited(self, event: RecordedEvent, model: ReadModel) -> None:
                if event.stream_id == "bad":
                    raise ValueError("cannot handle bad accounts")
                Totals._deposited(self, event, model)

        runner = ProjectionRunner(events, projections, [Fragile(), Totals()], batch_size=1)
        outcome = runner.catch_up()
        assert outcome.error_code == PROJECTION_FAILED
        assert outcome.error_data["handled"] == {"contract-totals": 2}
        assert "position" in str(outcome.error)
        assert "cannot handle bad accounts" in str(outcome.error)
        statuses = {s.name: s for s in runner.status().unwrap()}
        assert statuses["contract-fragile"].state == "failed"
        assert statuses["contract-totals"].state == "live"
        again = runner.catch_up(["contract-fragile"])
        assert again.error_code == PROJECTION_FAILED, "a failed projection waits for a rebuild"

    def test_an_event_that_does_not_decode_stops_the_projection_never_skipped(
        self, projections: ProjectionStore
    ) -> None:
        """An event of a handled class whose payload does not decode fails the projection at it.

        As for a raising ``handle``: ``PROJECTION_FAILED`` with the position and
        the reason, the batch applied up to nothing, the projection failed until
        a rebuild; a projection that does not handle the class is not stopped.
        """
        events = InMemoryEventStore()
        self._deposit(events, "acc-1", 10)
        spoiled = UnknownEvent(
            aggregate_id="acc-2",
            event_type="contract.Deposited",
            stored_schema_version=1,
            payload={"aggregate_id": "acc-2", "version": 1, "amount": "lots"},
            reason="written by hand",
            error_code=UNKNOWN_MESSAGE_TYPE,
        )
        position = events.append("acc-2", [spoiled], NO_STREAM).unwrap().positions[0]
        self._deposit(events, "acc-3", 5)

        class Other(Projection):
            name = "contract-other"

            @when(_Unrelated)
            def _seen(self, event: RecordedEvent, model: ReadModel) -> None:
                model.put("seen", {"n": 1})

        runner = ProjectionRunner(events, projections, [Totals(), Other()], batch_size=2)
        outcome = runner.catch_up()
        assert outcome.error_code == PROJECTION_FAILED
        assert outcome.error_data["position"] == position
        assert outcome.error_data["cause"] == DESERIALIZATION_ERROR
        assert f"cannot decode event contract.Deposited at position {position}" in str(outcome.error)
        assert "amount" in str(outcome.error)
        assert outcome.error_data["handled"] == {"contract-other": 3}
        statuses = {s.name: s for s in runner.status().unwrap()}
        assert statuses["contract-totals"].state == "failed"
        assert statuses["contract-totals"].failed is not None
        assert statuses["contract-totals"].failed.position == 0, "the batch holding it applied nothing"
        assert runner.catch_up(["contract-totals"]).error_code == PROJECTION_FAILED

    def test_two_runners_on_one_projection_never_double_count(
        self, open_projection_store: ProjectionStoreFactory
    ) -> None:
        """Two runners racing on one projection never apply an event twice."""
        events = InMemoryEventStore()
        for i in range(40):
            self._deposit(events, f"acc-{i}", 1)
        first = ProjectionRunner(events, open_projection_store(), [Totals()], batch_size=3)
        first.catch_up().unwrap()  # creates and promotes generation 1
        for i in range(40, 80):
            self._deposit(events, f"acc-{i}", 1)
        runners = [
            ProjectionRunner(events, open_projection_store(), [Totals()], batch_size=3) for _ in range(2)
        ]
        outcomes: list[Any] = []
        threads = [threading.Thread(target=lambda r=r: outcomes.append(r.catch_up())) for r in runners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert all(o.is_success or o.error_code == CONCURRENCY_CONFLICT for o in outcomes)
        for runner in runners:  # whoever lost a race finishes now
            runner.catch_up().unwrap()
        view = dict(open_projection_store().documents("contract-totals"))
        assert view["_count"] == {"n": 80}
