//! The [`Store`] of a [`SqliteStore`]: every method runs on the database and has its
//! failure looked at by the store's [`Health`](super::health::Health).

use serde_json::Value as Json;

use crate::engine::Status;

use super::{
    CallProgress, CallStep, CallStepped, Created, Held, HistoryRow, InstanceFilter, InstanceRecord,
    InstanceSummary, LeaseRequest, Leased, MessageId, NewInstance, NewMessage, OwnCalls,
    OwnerLeases, QueueStats, Result, SqliteStore, StepCommit, Store, WorkerRecord, WorkerReport,
};

impl Store for SqliteStore {
    fn create_instance_leasing(
        &self,
        new: NewInstance,
        first: StepCommit,
        own: Option<(&OwnCalls, &str)>,
    ) -> Result<(Created, Vec<Leased>)> {
        self.health
            .watch(self.db.create_instance_leasing(new, first, own))
    }

    fn instance(&self, id: &str) -> Result<Option<InstanceRecord>> {
        self.health.watch(self.db.instance(id))
    }

    fn instance_status(&self, id: &str) -> Result<Option<crate::engine::Status>> {
        self.health.watch(self.db.instance_status(id))
    }

    fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>> {
        self.health.watch(self.db.list_instances(filter))
    }

    fn history(&self, id: &str, after_seq: i64) -> Result<Vec<HistoryRow>> {
        self.health.watch(self.db.history(id, after_seq))
    }

    fn history_page(&self, id: &str, after_seq: i64, limit: usize) -> Result<Vec<HistoryRow>> {
        self.health
            .watch(self.db.history_page(id, after_seq, limit))
    }

    fn history_len(&self, id: &str) -> Result<i64> {
        self.health.watch(self.db.history_len(id))
    }

    fn count_instances(&self, workflow: Option<&str>) -> Result<Vec<(Status, u64)>> {
        self.health.watch(self.db.count_instances(workflow))
    }

    fn commit_step(&self, commit: StepCommit) -> Result<()> {
        self.health.watch(self.db.commit_step(commit))
    }

    fn complete_call_with_step(&self, step: CallStep) -> Result<CallStepped> {
        self.health.watch(self.db.complete_call_with_step(step))
    }

    fn unfinished_instances(&self) -> Result<Vec<String>> {
        self.health.watch(self.db.unfinished_instances())
    }

    fn put_bundle(&self, hash: &str, bytes: &[u8], now: i64) -> Result<()> {
        self.health.watch(self.db.put_bundle(hash, bytes, now))
    }

    fn bundle(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        self.health.watch(self.db.bundle(hash))
    }

    fn record_progress(&self, instance: &str, key: &str, report: &Json, now: i64) -> Result<()> {
        self.health
            .watch(self.db.record_progress(instance, key, report, now))
    }

    fn call_progress(&self, instance: &str) -> Result<Vec<CallProgress>> {
        self.health.watch(self.db.call_progress(instance))
    }

    fn clear_progress(&self, key: &str) -> Result<()> {
        self.health.watch(self.db.clear_progress(key))
    }

    fn sync_schedules(&self, specs: &[crate::store::ScheduleSpec], now: i64) -> Result<()> {
        self.health.watch(self.db.sync_schedules(specs, now))
    }

    fn schedules(&self) -> Result<Vec<crate::store::ScheduleRow>> {
        self.health.watch(self.db.schedules())
    }

    fn set_schedule_paused(
        &self,
        name: &str,
        paused: bool,
        now: i64,
    ) -> Result<Option<crate::store::ScheduleRow>> {
        self.health
            .watch(self.db.set_schedule_paused(name, paused, now))
    }

    fn record_schedule_tick(
        &self,
        name: &str,
        tick: i64,
        instance: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        self.health
            .watch(self.db.record_schedule_tick(name, tick, instance, now))
    }

    fn enqueue(&self, messages: &[NewMessage], now: i64) -> Result<Vec<MessageId>> {
        self.health.watch(self.db.enqueue(messages, now))
    }

    fn lease(&self, request: &LeaseRequest) -> Result<Vec<Leased>> {
        self.health.watch(self.db.lease(request))
    }

    fn ack(&self, id: MessageId, owner: &str, now: i64) -> Result<bool> {
        self.health.watch(self.db.ack(id, owner, now))
    }

    fn ack_many(&self, ids: &[MessageId], owner: &str, now: i64) -> Result<Vec<bool>> {
        self.health.watch(self.db.ack_many(ids, owner, now))
    }

    fn ack_and_enqueue(
        &self,
        id: MessageId,
        owner: &str,
        messages: &[NewMessage],
        now: i64,
    ) -> Result<bool> {
        self.health
            .watch(self.db.ack_and_enqueue(id, owner, messages, now))
    }

    fn release(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool> {
        self.health.watch(self.db.release(id, owner, visible_at))
    }

    fn retry_later(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool> {
        self.health
            .watch(self.db.retry_later(id, owner, visible_at))
    }

    fn extend(&self, id: MessageId, owner: &str, now: i64, lease_until: i64) -> Result<bool> {
        self.health
            .watch(self.db.extend(id, owner, now, lease_until))
    }

    fn held(&self, id: MessageId, owner: &str, now: i64) -> Result<Option<Held>> {
        self.health.watch(self.db.held(id, owner, now))
    }

    fn dead_letter(&self, id: MessageId, owner: &str, reason: &str) -> Result<bool> {
        self.health.watch(self.db.dead_letter(id, owner, reason))
    }

    fn release_owner(&self, owner: &str) -> Result<u64> {
        self.health.watch(self.db.release_owner(owner))
    }

    fn release_all_leases(&self) -> Result<u64> {
        self.health.watch(self.db.release_all_leases())
    }

    fn next_visible_at(&self, queue: &str, now: i64) -> Result<Option<i64>> {
        self.health.watch(self.db.next_visible_at(queue, now))
    }

    fn next_lease_expiry(&self, queue: &str, now: i64) -> Result<Option<i64>> {
        self.health.watch(self.db.next_lease_expiry(queue, now))
    }

    fn queue_stats(&self, now: i64) -> Result<Vec<QueueStats>> {
        self.health.watch(self.db.queue_stats(now))
    }

    fn leases_by_owner(&self, now: i64) -> Result<Vec<OwnerLeases>> {
        self.health.watch(self.db.leases_by_owner(now))
    }

    fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<(MessageId, Json, String)>> {
        self.health.watch(self.db.dead_letters(queue, limit))
    }

    fn record_worker(&self, worker: &WorkerRecord) -> Result<()> {
        self.health.watch(self.db.record_worker(worker))
    }

    fn count_worker(&self, report: &WorkerReport) -> Result<()> {
        self.health.watch(self.db.count_worker(report))
    }

    fn workers(&self) -> Result<Vec<WorkerRecord>> {
        self.health.watch(self.db.workers())
    }

    fn fault(&self) -> Option<String> {
        self.health.fault()
    }
}
