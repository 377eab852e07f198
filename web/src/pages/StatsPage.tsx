export default function StatsPage() {
  return (
    <section className="page">
      <h1>Stats</h1>
    </section>
  );
}
