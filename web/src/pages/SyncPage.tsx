export default function SyncPage() {
  return (
    <section className="page">
      <h1>Sync</h1>
    </section>
  );
}
