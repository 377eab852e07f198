export default function DocumentsPage() {
  return (
    <section className="page">
      <h1>Documents</h1>
    </section>
  );
}
