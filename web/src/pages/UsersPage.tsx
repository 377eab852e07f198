export default function UsersPage() {
  return (
    <section className="page">
      <h1>Users</h1>
    </section>
  );
}
