// Document search on a real SQLite file: full-text semantics (phrases, prefixes, boolean
// operators, relevance order, snippets), filters, and keyset paging that stays exact while new
// documents arrive.
#include "store/sqlite/document_queries.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "domain/error.hpp"
#include "domain/search_query.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::store::sqlite {
namespace {

class DocumentSearchTest : public TempStoreTest {
 protected:
  /// Adds a document; `n` makes its ids and times distinct and ordered.
  void add(int n, const std::string& title, const std::string& text, const std::string& user = "u1",
           domain::SourceType type = domain::SourceType::journal_entries) {
    const auto d = document(n, title, text, user, type);
    store_->write([&](Writer& w) { w.upsert_documents(type, {d}); });
  }

  /// The document add() writes, for tests that write many in one transaction.
  static DocumentWrite document(int n, const std::string& title, const std::string& text,
                                const std::string& user = "u1",
                                domain::SourceType type = domain::SourceType::journal_entries) {
    DocumentWrite d;
    d.id = "doc-" + std::to_string(100000 + n);
    d.user_id = user;
    d.source_type = type;
    d.source_id = "src-" + std::to_string(n);
    d.title = title;
    d.text = text;
    d.metadata_json = "{}";
    d.content_hash = "h" + std::to_string(n);
    d.synced_at = 1'000'000 + n;
    d.source_created_at = 5'000'000 - n;
    d.job_id = "job";
    return d;
  }

  static std::string match(std::string_view q) {
    auto parsed = domain::SearchQuery::parse(q);
    EXPECT_TRUE(parsed.query) << q;
    return parsed.query ? parsed.query->to_fts5() : std::string();
  }

  DocumentPage search(DocumentQuery q) {
    return store_->read_value([&](Reader& r) { return r.search_documents(q); });
  }

  std::vector<std::string> sources(std::string_view text, DocumentSort sort = DocumentSort::relevance) {
    DocumentQuery q;
    q.filter.match = match(text);
    q.sort = sort;
    q.limit = 100;
    std::vector<std::string> out;
    for (const auto& hit : search(q).items) {
      out.push_back(hit.doc.source_id);
    }
    return out;
  }
};

/// Sets the process-wide CPU-time budget of a first page's candidates for one scope.
struct RankBudget {
  explicit RankBudget(std::chrono::microseconds budget) : before(documents::rank_budget()) {
    documents::set_rank_budget(budget);
  }
  ~RankBudget() { documents::set_rank_budget(before); }
  RankBudget(const RankBudget&) = delete;
  RankBudget& operator=(const RankBudget&) = delete;
  std::chrono::microseconds before;
};

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

TEST_F(DocumentSearchTest, PhrasesPrefixesAndBooleans) {
  add(1, "Morning", "a grey heron waited by the river");
  add(2, "Evening", "the heron was grey and tall");
  add(3, "Walk", "journaling about the river walk");
  add(4, "Plans", "journey to the coast");
  EXPECT_THAT(sources("heron"), UnorderedElementsAre("src-1", "src-2"));
  EXPECT_THAT(sources("\"grey heron\""), ElementsAre("src-1"));  // adjacent words only
  EXPECT_THAT(sources("grey heron"), UnorderedElementsAre("src-1", "src-2"));
  EXPECT_THAT(sources("journ*"), UnorderedElementsAre("src-3", "src-4"));
  EXPECT_THAT(sources("heron OR coast"), UnorderedElementsAre("src-1", "src-2", "src-4"));
  EXPECT_THAT(sources("river NOT heron"), ElementsAre("src-3"));
  EXPECT_THAT(sources("(heron OR journey) NOT tall"), UnorderedElementsAre("src-1", "src-4"));
  EXPECT_THAT(sources("morning"), ElementsAre("src-1"));                  // titles are searched too
  EXPECT_THAT(sources("HERON"), UnorderedElementsAre("src-1", "src-2"));  // case folded
  EXPECT_TRUE(sources("albatross").empty());
}

TEST_F(DocumentSearchTest, RelevanceRanksDenserAndTitleMatchesFirst) {
  add(1, "Notes", "kingfisher once, then many other words about the day and the weather and more");
  add(2, "Notes", "kingfisher kingfisher kingfisher");
  add(3, "Kingfisher", "a short entry");
  add(4, "Notes", "nothing relevant here at all");
  const auto ranked = sources("kingfisher");
  ASSERT_EQ(ranked.size(), 3u);
  EXPECT_EQ(ranked.back(), "src-1");  // one hit in a long text ranks last
  DocumentQuery q;
  q.filter.match = match("kingfisher");
  q.sort = DocumentSort::relevance;
  const auto page = search(q);
  ASSERT_EQ(page.items.size(), 3u);
  EXPECT_GT(page.items[0].score, page.items[1].score);
  EXPECT_GT(page.items[1].score, page.items[2].score);
  EXPECT_GT(page.items[2].score, 0.0);
}

TEST_F(DocumentSearchTest, AWordInMostDocumentsStillGetsAMeaningfulScore) {
  // Classic BM25's IDF is negative for a word in more than half of the documents (FTS5's bm25()
  // clamps it to 1e-6); the ranking uses an IDF that stays positive.
  add(1, "T", "tea tea tea in the morning");
  add(2, "T", "tea after lunch");
  add(3, "T", "tea and a long walk along the river to the old mill and back again");
  add(4, "T", "no drink today");
  DocumentQuery q;
  q.filter.match = match("tea");
  q.sort = DocumentSort::relevance;
  const auto page = search(q);
  ASSERT_EQ(page.items.size(), 3u);
  EXPECT_EQ(page.items[0].doc.source_id, "src-1");
  EXPECT_EQ(page.items[2].doc.source_id, "src-3");
  EXPECT_GT(page.items[2].score, 0.1);
}

TEST_F(DocumentSearchTest, SnippetsMarkMatchesAndEscapeTheText) {
  add(1, "<b>Heron</b> & co", "before <script>alert(1)</script> the heron \"stood\" still");
  DocumentQuery q;
  q.filter.match = match("heron");
  q.sort = DocumentSort::relevance;
  const auto page = search(q);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].snippet,
            "before &lt;script&gt;alert(1)&lt;/script&gt; the <mark>heron</mark> &quot;stood&quot; still");
  EXPECT_EQ(page.items[0].title_html, "&lt;b&gt;<mark>Heron</mark>&lt;/b&gt; &amp; co");
  EXPECT_TRUE(page.items[0].doc.text.empty());  // listings carry the snippet, not the text
}

TEST_F(DocumentSearchTest, LongTextsGetAWindowAroundTheMatch) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "filler" + std::to_string(i) + " ";
  }
  text += "osprey";
  for (int i = 0; i < 200; ++i) {
    text += " tail" + std::to_string(i);
  }
  add(1, "Long", text);
  DocumentQuery q;
  q.filter.match = match("osprey");
  const auto hit = search(q).items.at(0);
  EXPECT_NE(hit.snippet.find("<mark>osprey</mark>"), std::string::npos);
  EXPECT_LT(hit.snippet.size(), 400u);
  EXPECT_EQ(hit.snippet.rfind("…", 0), 0u);  // cut before the window
}

TEST_F(DocumentSearchTest, FiltersNarrowByTypeUserAndDates) {
  add(1, "A", "shared word", "u1", domain::SourceType::journal_entries);
  add(2, "B", "shared word", "u2", domain::SourceType::journal_entries);
  add(3, "C", "shared word", "u1", domain::SourceType::goals);
  add(4, "D", "other", "u1", domain::SourceType::goals);
  auto ids = [&](DocumentFilter f, DocumentSort sort = DocumentSort::oldest) {
    DocumentQuery q;
    q.filter = std::move(f);
    q.sort = sort;
    std::vector<std::string> out;
    for (const auto& h : search(q).items) {
      out.push_back(h.doc.source_id);
    }
    return out;
  };
  DocumentFilter f;
  f.type = domain::SourceType::goals;
  EXPECT_THAT(ids(f), ElementsAre("src-3", "src-4"));
  f.match = match("shared");
  EXPECT_THAT(ids(f), ElementsAre("src-3"));
  DocumentFilter by_user;
  by_user.user_id = "u1";
  EXPECT_THAT(ids(by_user), ElementsAre("src-1", "src-3", "src-4"));
  EXPECT_THAT(ids(by_user, DocumentSort::newest), ElementsAre("src-4", "src-3", "src-1"));
  DocumentFilter synced;
  synced.from = 1'000'002;
  synced.to = 1'000'004;  // exclusive
  EXPECT_THAT(ids(synced), ElementsAre("src-2", "src-3"));
  DocumentFilter source;
  source.date = DocumentDate::source;  // source dates run backwards: 4'999'999 … 4'999'996
  source.from = 4'999'997;
  EXPECT_THAT(ids(source), ElementsAre("src-3", "src-2", "src-1"));
  EXPECT_EQ(store_->read_value([&](Reader& r) { return r.count_matching_documents(f); }), 1);
  EXPECT_EQ(store_->read_value([&](Reader& r) { return r.count_matching_documents(DocumentFilter{}); }), 4);
}

/// Pages through the whole result, adding `per_page` new matching documents after each page,
/// and returns the source ids seen in order.
std::vector<std::string> page_through(DocumentSearchTest& t, SqliteStore& store, DocumentQuery q, int& next,
                                      int per_page, const std::function<void(int)>& add_one) {
  (void)t;
  std::vector<std::string> seen;
  for (int guard = 0; guard < 1000; ++guard) {
    auto page = store.read_value([&](Reader& r) { return r.search_documents(q); });
    for (const auto& h : page.items) {
      seen.push_back(h.doc.source_id);
    }
    if (!page.has_more) {
      break;
    }
    for (int i = 0; i < per_page; ++i) {
      add_one(next++);
    }
    const auto& last = page.items.back();
    q.after = DocumentQuery::After{last.doc.synced_at, last.score, last.doc.seq};
    q.stats = page.stats;
    q.rank_floor = page.rank_floor;
    if (page.stats) {
      q.filter.max_seq = page.max_seq;
    }
  }
  return seen;
}

TEST_F(DocumentSearchTest, PagingByDateHasNoDuplicatesOrGapsWhileDocumentsArrive) {
  for (int i = 0; i < 95; ++i) {
    add(i, "T", "river stone " + std::string(static_cast<std::size_t>(i % 7 + 1), 'x'));
  }
  std::set<std::string> before;
  for (int i = 0; i < 95; ++i) {
    before.insert("src-" + std::to_string(i));
  }
  for (auto sort : {DocumentSort::newest, DocumentSort::oldest}) {
    int next = 1000 + (sort == DocumentSort::oldest ? 1000 : 0);
    DocumentQuery q;
    q.sort = sort;
    q.limit = 10;
    const auto seen =
        page_through(*this, *store_, q, next, 3, [&](int n) { add(n, "T", "river stone new"); });
    const std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << "duplicates";
    for (const auto& id : before) {
      EXPECT_TRUE(unique.contains(id)) << id << " missing";
    }
    before = {};
    for (int i = 0; i < 95; ++i) {
      before.insert("src-" + std::to_string(i));
    }
  }
}

TEST_F(DocumentSearchTest, PagingByRelevanceHasNoDuplicatesOrGapsWhileDocumentsArrive) {
  // Varied lengths and counts give varied scores; new documents change the corpus figures
  // (rows, average length, rows per word), which would reorder a live BM25 ranking.
  for (int i = 0; i < 120; ++i) {
    std::string text;
    for (int k = 0; k <= i % 5; ++k) {
      text += "lantern ";
    }
    text += std::string(static_cast<std::size_t>(i % 11), 'y') + " filler words " + std::to_string(i);
    add(i, "T", text);
  }
  DocumentQuery q;
  q.filter.match = match("lantern");
  q.sort = DocumentSort::relevance;
  q.limit = 7;
  int next = 5000;
  const auto seen = page_through(*this, *store_, q, next, 5, [&](int n) {
    add(n, "Lantern", "lantern lantern lantern lantern lantern " + std::to_string(n));
  });
  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(seen.size(), 120u);  // exactly the documents that existed at the first page
  EXPECT_EQ(unique.size(), 120u);
  for (const auto& id : unique) {
    EXPECT_LT(std::stoi(id.substr(4)), 120) << id << " arrived after the search began";
  }
}

TEST_F(DocumentSearchTest, ACommonWordRanksOnlyTheNewestCandidatesAndPagesThroughThemExactly) {
  // The 20 oldest documents say "lantern" most often, so ranking every match puts them first.
  for (int i = 0; i < 50; ++i) {
    add(i, "T",
        i < 20 ? "lantern lantern lantern lantern " + std::to_string(i)
               : "lantern filler " + std::to_string(i));
  }
  DocumentQuery q;
  q.filter.match = match("lantern");
  q.sort = DocumentSort::relevance;
  q.limit = 4;
  q.rank_candidates = 12;

  auto all = q;
  all.rank_candidates = 0;
  const auto unbounded = search(all);
  EXPECT_FALSE(unbounded.ranked_over);
  ASSERT_FALSE(unbounded.items.empty());
  EXPECT_LT(std::stoi(unbounded.items.front().doc.source_id.substr(4)), 20);

  const auto first = search(q);
  ASSERT_TRUE(first.ranked_over);
  EXPECT_EQ(*first.ranked_over, 12);
  // Page through while new matching documents arrive: exactly the 12 newest matches of the first
  // page come back, once each, best first.
  int next = 9000;
  std::vector<double> scores;
  const auto seen = page_through(*this, *store_, q, next, 2,
                                 [&](int n) { add(n, "Lantern", "lantern lantern " + std::to_string(n)); });
  std::vector<std::string> expected;
  for (int i = 38; i < 50; ++i) {
    expected.push_back("src-" + std::to_string(i));
  }
  EXPECT_THAT(seen, UnorderedElementsAreArray(expected));
  // Within the candidates the order is by score, as an unbounded ranking of them would give.
  auto within = q;
  within.limit = 100;
  within.filter.max_seq = first.max_seq;
  const auto one_page = search(within);
  std::vector<std::string> in_order;
  for (const auto& h : one_page.items) {
    in_order.push_back(h.doc.source_id);
  }
  std::vector<std::string> first_ids;
  for (const auto& h : first.items) {
    first_ids.push_back(h.doc.source_id);
  }
  EXPECT_TRUE(std::is_sorted(one_page.items.begin(), one_page.items.end(),
                             [](const auto& a, const auto& b) { return a.score > b.score; }));
  EXPECT_EQ(std::vector<std::string>(in_order.begin(), in_order.begin() + 4), first_ids);
}

TEST_F(DocumentSearchTest, AFirstPageOutOfTimeRanksTheMatchesItReadAndPagesThroughThemExactly) {
  // A phrase of two common words has few matches but costs a walk over two long position lists:
  // the first page stops reading matches when its time is up, once it has a page and one more.
  for (int i = 0; i < 40; ++i) {
    add(i, "T", i % 2 == 0 ? "red lantern " + std::to_string(i) : "lantern red " + std::to_string(i));
  }
  DocumentQuery q;
  q.filter.match = match("\"red lantern\"");
  q.sort = DocumentSort::relevance;
  q.limit = 3;
  std::optional<RankBudget> budget;
  budget.emplace(std::chrono::microseconds(1));  // up before the fourth match is read

  const auto first = search(q);
  ASSERT_TRUE(first.ranked_over);
  EXPECT_EQ(*first.ranked_over, 4);
  ASSERT_TRUE(first.rank_floor);
  int next = 9000;
  const auto seen = page_through(*this, *store_, q, next, 1,
                                 [&](int n) { add(n, "T", "red lantern " + std::to_string(n)); });
  // The 4 newest matches (38, 36, 34, 32), once each, and none that arrived while paging.
  EXPECT_THAT(seen, UnorderedElementsAre("src-38", "src-36", "src-34", "src-32"));

  // Without the time limit every match is ranked.
  budget.emplace(std::chrono::microseconds(0));
  auto all = q;
  all.limit = 100;
  const auto every = search(all);
  EXPECT_FALSE(every.ranked_over);
  EXPECT_EQ(every.items.size(), 21u);  // the 20 phrases and the one added while paging
}

TEST_F(DocumentSearchTest, TheFirstPageScoresEachDocumentAsLaterPagesDo) {
  // The first page scores the matches it read itself; later pages score in SQL (mlrank) with the
  // figures pinned in the cursor. Equal scores, to the bit, are what keeps paging exact.
  const RankBudget unlimited(std::chrono::microseconds(0));
  for (int i = 0; i < 60; ++i) {
    std::string text;
    for (int k = 0; k <= i % 4; ++k) {
      text += "lantern ";
    }
    add(i, i % 3 == 0 ? "Lantern harbour" : "T",
        text + (i % 5 == 0 ? "harbour" : "filler") + std::string(static_cast<std::size_t>(i % 6), 'x'));
  }
  for (const std::size_t bound : {std::size_t{20}, std::size_t{20000}}) {
    DocumentQuery q;
    q.filter.match = match("lantern OR harbour");
    q.sort = DocumentSort::relevance;
    q.limit = 100;
    q.rank_candidates = bound;
    const auto walked = search(q);
    ASSERT_TRUE(walked.stats);
    EXPECT_EQ(walked.ranked_over.has_value(), bound == 20);
    auto in_sql = q;
    in_sql.stats = walked.stats;
    in_sql.rank_floor = walked.rank_floor;
    in_sql.filter.max_seq = walked.max_seq;
    const auto sql = search(in_sql);
    ASSERT_EQ(sql.items.size(), walked.items.size());
    EXPECT_EQ(walked.items.size(), bound == 20 ? 20u : 60u);
    for (std::size_t i = 0; i < sql.items.size(); ++i) {
      EXPECT_EQ(sql.items[i].doc.source_id, walked.items[i].doc.source_id) << i;
      EXPECT_EQ(sql.items[i].score, walked.items[i].score) << i;
    }
  }
}

TEST_F(DocumentSearchTest, ABoundedFirstPageEstimatesEachPhrasesCorpusCountFromItsCandidates) {
  // 100 documents all say "lantern"; "harbour" is in every 4th of the oldest 80 and every 2nd of
  // the newest 20, the candidates: lantern in 20 of 20, harbour in 10 of 20, so an estimated 100
  // and 50 documents in the corpus (exactly: 100 and 30).
  const RankBudget unlimited(std::chrono::microseconds(0));
  for (int i = 0; i < 100; ++i) {
    add(i, "T", (i < 80 ? i % 4 == 0 : i % 2 == 0) ? "lantern harbour" : "lantern quay");
  }
  DocumentQuery q;
  q.filter.match = match("lantern OR harbour");
  q.sort = DocumentSort::relevance;
  q.rank_candidates = 20;
  const auto page = search(q);
  ASSERT_TRUE(page.stats);
  EXPECT_EQ(page.stats->rows, 100);
  EXPECT_THAT(page.stats->phrase_rows, ElementsAre(100, 50));
  EXPECT_EQ(page.ranked_over, 20);
  // Every match read (the bound not reached): the exact counts.
  q.rank_candidates = 20000;
  const auto exact = search(q);
  ASSERT_TRUE(exact.stats);
  EXPECT_FALSE(exact.ranked_over);
  EXPECT_THAT(exact.stats->phrase_rows, ElementsAre(100, 30));
}

TEST_F(DocumentSearchTest,
       AUserFilteredSearchFindsTheUsersMatchesWhetherItReadsTheWordsOrProbesTheDocuments) {
  // With few matches among the user's documents' seqs the word's matches are read and kept when
  // they are the user's; with more than 64 per document of the user's, the documents are probed.
  // Either way: the user's matches only, scored as later pages (SQL) score them.
  const auto check = [&](const std::vector<std::string>& want, std::int64_t lantern_rows) {
    DocumentQuery q;
    q.filter.match = match("lantern");
    q.filter.user_id = "u1";
    q.sort = DocumentSort::relevance;
    q.limit = 10;
    const auto first = search(q);
    std::vector<std::string> got;
    for (const auto& h : first.items) {
      got.push_back(h.doc.source_id);
    }
    EXPECT_EQ(got, want);
    ASSERT_TRUE(first.stats);
    EXPECT_THAT(first.stats->phrase_rows, ElementsAre(lantern_rows));
    EXPECT_FALSE(first.ranked_over);
    auto in_sql = q;
    in_sql.stats = first.stats;
    in_sql.filter.max_seq = first.max_seq;
    const auto sql = search(in_sql);
    ASSERT_EQ(sql.items.size(), first.items.size());
    for (std::size_t i = 0; i < sql.items.size(); ++i) {
      EXPECT_EQ(sql.items[i].doc.source_id, first.items[i].doc.source_id);
      EXPECT_EQ(sql.items[i].score, first.items[i].score);
    }
  };
  add(0, "T", "lantern one", "u1");
  add(1, "T", "lantern other", "u2");
  add(2, "T", "lantern lantern lantern two", "u1");
  add(3, "T", "nothing here", "u1");
  check({"src-2", "src-0"}, 3);  // 3 matches in u1's seq range: read, the exact corpus count
  for (int i = 10; i < 410; ++i) {
    add(i, "T", "lantern filler filler filler filler", "u2");
  }
  add(500, "T", "lantern lantern three", "u1");
  // 403 matches for 4 documents of u1's: probed, and the corpus count estimated from them, since
  // the exact one would read every match of the word: 3 of u1's 4 documents, of 405 in all.
  check({"src-2", "src-500", "src-0"}, 304);
}

TEST_F(DocumentSearchTest, AUserFilteredSearchOfACommonTextMatchesAsTheFullTextIndexDoes) {
  // With more than 64 matches per document of the user's, the user's documents are indexed on
  // their own and the text matched there: the same documents must match (phrases, prefixes, NOT,
  // titles, case folding), with the same scores as later pages give them over the whole index,
  // and the corpus figures must be the whole index's, not those of the user's documents.
  add(1, "Morning", "a grey heron waited by the river", "u1");
  add(2, "Evening", "the Heron was grey and tall, heron heron", "u1");
  add(3, "Grey Heron", "journaling about the river walk", "u1");
  add(4, "Plans", "journey to the coast, no birds", "u1");
  add(5, "Goals", "a grey heron goal", "u1", domain::SourceType::goals);
  std::vector<DocumentWrite> others;
  for (int i = 10; i < 1010; ++i) {
    others.push_back(document(i, "T", "grey heron journey coast river " + std::to_string(i), "u2"));
  }
  store_->write([&](Writer& w) { w.upsert_documents(domain::SourceType::journal_entries, others); });
  add(1100, "Heronry", "a grey heron, a grey heron again", "u1");
  add(1101, "Late", "nothing at all", "u1");
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"heron", {"src-1100", "src-2", "src-3", "src-1"}},
      {"\"grey heron\"", {"src-1100", "src-3", "src-1"}},
      {"heron*", {"src-1100", "src-2", "src-3", "src-1"}},
      {"river NOT heron", {}},
      {"journ* OR coast", {"src-4", "src-3"}},
  };
  for (const auto& [text, want] : cases) {
    DocumentQuery q;
    q.filter.match = match(text);
    q.filter.user_id = "u1";
    q.filter.type = domain::SourceType::journal_entries;
    q.sort = DocumentSort::relevance;
    q.limit = 10;
    const auto first = search(q);
    std::vector<std::string> got;
    for (const auto& h : first.items) {
      got.push_back(h.doc.source_id);
    }
    EXPECT_THAT(got, ::testing::UnorderedElementsAreArray(want)) << text;
    if (want.empty()) {
      continue;
    }
    ASSERT_TRUE(first.stats) << text;
    EXPECT_EQ(first.stats->rows, 1007) << text;  // every document, not u1's 6
    auto in_sql = q;
    in_sql.stats = first.stats;
    in_sql.filter.max_seq = first.max_seq;
    const auto sql = search(in_sql);
    ASSERT_EQ(sql.items.size(), first.items.size()) << text;
    for (std::size_t i = 0; i < sql.items.size(); ++i) {
      EXPECT_EQ(sql.items[i].doc.source_id, first.items[i].doc.source_id) << text << " " << i;
      EXPECT_EQ(sql.items[i].score, first.items[i].score) << text << " " << i;
      EXPECT_EQ(sql.items[i].snippet, first.items[i].snippet) << text << " " << i;
    }
  }
  // A second search on the same connection starts from an empty index of candidates.
  DocumentQuery q;
  q.filter.match = match("heron");
  q.filter.user_id = "u1";
  q.filter.type = domain::SourceType::goals;
  q.sort = DocumentSort::relevance;
  const auto goals = search(q);
  ASSERT_EQ(goals.items.size(), 1u);
  EXPECT_EQ(goals.items[0].doc.source_id, "src-5");
}

TEST_F(DocumentSearchTest, EachHitOfAPageGetsItsOwnSnippetAndTitle) {
  // A page's snippets come from one walk over its hits, the hits it does not reach from a probe
  // each: whichever way, each hit's snippet and title are its own document's.
  for (int i = 0; i < 60; ++i) {
    add(i, "Heron " + std::to_string(i),
        "day " + std::to_string(i) + std::string(i % 3 == 0 ? " heron heron" : " the heron") + " waits",
        "u1");
    add(1000 + i, "Other", "a wren sings", "u1");
    for (int k = 0; k < (i % 10 == 0 ? 40 : 1); ++k) {
      add(2000 + i * 100 + k, "Far", "the heron of another user", "u2");
    }
  }
  const auto check = [&](DocumentQuery q) {
    q.filter.match = match("heron");
    q.limit = 30;
    const auto page = search(q);
    ASSERT_FALSE(page.items.empty());
    for (const auto& hit : page.items) {
      const auto n = hit.doc.source_id.substr(4);
      if (hit.doc.user_id == "u2") {
        EXPECT_EQ(hit.snippet, "the <mark>heron</mark> of another user");
        EXPECT_EQ(hit.title_html, "Far");
        continue;
      }
      const auto twice = std::stoi(n) % 3 == 0;
      EXPECT_EQ(hit.snippet,
                "day " + n + (twice ? " <mark>heron</mark> <mark>heron</mark>" : " the <mark>heron</mark>") +
                    " waits")
          << hit.doc.source_id;
      EXPECT_EQ(hit.title_html, "<mark>Heron</mark> " + n) << hit.doc.source_id;
      EXPECT_TRUE(hit.doc.text.empty());
    }
  };
  for (auto sort : {DocumentSort::relevance, DocumentSort::newest, DocumentSort::oldest}) {
    DocumentQuery q;
    q.sort = sort;
    check(q);
    q.filter.user_id = "u1";
    check(q);
  }
}

TEST_F(DocumentSearchTest, ATextSearchByDateReturnsWholeDocumentsInDateOrder) {
  // Sorted by date, a text search orders its matches by date and seq, then reads the page's
  // documents: each hit is its own document, in the order of the date asked for.
  for (int i = 0; i < 30; ++i) {
    add(i, "Kestrel " + std::to_string(i), "the kestrel hovers " + std::to_string(i),
        i % 2 == 0 ? "u1" : "u2",
        i % 3 == 0 ? domain::SourceType::goals : domain::SourceType::journal_entries);
    add(100 + i, "Other", "a wren sings");
  }
  const auto ids = [&](DocumentQuery q) {
    q.filter.match = match("kestrel");
    q.limit = 7;
    std::vector<int> out;
    const auto page = search(q);
    for (const auto& hit : page.items) {
      const int n = std::stoi(hit.doc.source_id.substr(4));
      out.push_back(n);
      EXPECT_EQ(hit.doc.id, "doc-" + std::to_string(100000 + n));
      EXPECT_EQ(hit.doc.user_id, n % 2 == 0 ? "u1" : "u2");
      EXPECT_EQ(hit.doc.source_type,
                n % 3 == 0 ? domain::SourceType::goals : domain::SourceType::journal_entries);
      EXPECT_EQ(hit.doc.title, "Kestrel " + std::to_string(n));
      EXPECT_EQ(hit.doc.synced_at, 1'000'000 + n);
      EXPECT_EQ(hit.doc.source_created_at, 5'000'000 - n);
      EXPECT_EQ(hit.doc.content_hash, "h" + std::to_string(n));
      EXPECT_EQ(hit.doc.job_id, "job");
      EXPECT_EQ(hit.title_html, "<mark>Kestrel</mark> " + std::to_string(n));
    }
    EXPECT_TRUE(page.has_more);
    return out;
  };
  DocumentQuery q;
  q.sort = DocumentSort::newest;
  EXPECT_THAT(ids(q), ElementsAre(29, 28, 27, 26, 25, 24, 23));
  q.sort = DocumentSort::oldest;
  EXPECT_THAT(ids(q), ElementsAre(0, 1, 2, 3, 4, 5, 6));
  q.filter.date = DocumentDate::source;  // source dates run the other way
  EXPECT_THAT(ids(q), ElementsAre(29, 28, 27, 26, 25, 24, 23));
  q.sort = DocumentSort::newest;
  EXPECT_THAT(ids(q), ElementsAre(0, 1, 2, 3, 4, 5, 6));
  q.filter.date = DocumentDate::synced;
  q.filter.user_id = "u1";
  EXPECT_THAT(ids(q), ElementsAre(28, 26, 24, 22, 20, 18, 16));
  q.filter.type = domain::SourceType::journal_entries;
  EXPECT_THAT(ids(q), ElementsAre(28, 26, 22, 20, 16, 14, 10));
}

// The re-check a bulk write makes under the lock: the filter, restricted to the seqs given.
TEST_F(DocumentSearchTest, MatchingAmongGivenSeqsAppliesTheFilterToThoseOnly) {
  add(1, "A", "a grey heron", "u1");
  add(2, "B", "a heron too", "u2");
  add(3, "C", "a kingfisher", "u1");
  add(4, "D", "another heron", "u1");
  auto among = [&](const DocumentFilter& f, const std::vector<std::int64_t>& seqs) {
    std::vector<std::string> out;
    for (const auto& d : store_->read_value([&](Reader& r) { return r.matching_documents_among(f, seqs); })) {
      out.push_back(d.source_id);
    }
    return out;
  };
  DocumentFilter herons;
  herons.match = match("heron");
  EXPECT_THAT(among(herons, {3, 2, 1}), ElementsAre("src-1", "src-2"));  // seq order; not 4
  herons.user_id = "u1";
  EXPECT_THAT(among(herons, {1, 2, 3, 4}), ElementsAre("src-1", "src-4"));
  herons.max_seq = 3;
  EXPECT_THAT(among(herons, {1, 2, 3, 4}), ElementsAre("src-1"));
  DocumentFilter of_u2;
  of_u2.user_id = "u2";
  EXPECT_THAT(among(of_u2, {1, 2, 99}), ElementsAre("src-2"));
  EXPECT_TRUE(among(of_u2, {}).empty());
}

// The bulk action's count and search (docs/security.md, "Query deadlines") stop like a search.
TEST_F(DocumentSearchTest, ACountOrBulkSearchPastItsDeadlineStopsWithQueryTimeout) {
  std::vector<DocumentWrite> docs;
  for (int i = 0; i < 3000; ++i) {
    DocumentWrite d;
    d.id = "doc-" + std::to_string(i);
    d.user_id = "u1";
    d.source_id = "src-" + std::to_string(i);
    d.title = "T";
    d.text = "lantern " + std::to_string(i);
    d.metadata_json = "{}";
    d.content_hash = "h" + std::to_string(i);
    d.job_id = "job";
    docs.push_back(std::move(d));
  }
  store_->write([&](Writer& w) { w.upsert_documents(domain::SourceType::journal_entries, docs); });
  DocumentFilter f;
  f.match = match("lantern");
  const std::vector<std::function<void(Reader&)>> queries = {
      [&](Reader& r) { r.count_matching_documents(f, std::chrono::microseconds(1)); },
      [&](Reader& r) { r.matching_documents_after(f, 0, 1000, std::chrono::microseconds(1)); },
  };
  for (const auto& query : queries) {
    try {
      store_->read(query);
      ADD_FAILURE() << "the query ran past its deadline";
    } catch (const domain::Error& e) {
      EXPECT_EQ(e.code(), "query_timeout");
      EXPECT_EQ(e.kind(), domain::ErrorKind::unavailable);
      EXPECT_THAT(e.what(), ::testing::HasSubstr("narrow the filter"));
    }
  }
  // The connections are usable again, without a deadline left behind.
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(store_->read_value([&](Reader& r) { return r.count_matching_documents(f); }), 3000);
    const auto all = store_->read_value(
        [&](Reader& r) { return r.matching_documents_after(f, 0, 5000, std::chrono::seconds(60)); });
    EXPECT_EQ(all.size(), 3000u);
  }
}

TEST_F(DocumentSearchTest, ASearchPastItsDeadlineStopsWithQueryTimeout) {
  for (int i = 0; i < 300; ++i) {
    add(i, "T", "lantern " + std::to_string(i));
  }
  DocumentQuery q;
  q.filter.match = match("lantern");
  q.sort = DocumentSort::relevance;
  q.deadline = std::chrono::microseconds(1);  // over before SQLite first asks (after 1,000 steps)
  try {
    search(q);
    ADD_FAILURE() << "the search ran past its deadline";
  } catch (const domain::Error& e) {
    EXPECT_EQ(e.code(), "query_timeout");
    EXPECT_EQ(e.kind(), domain::ErrorKind::unavailable);
  }
  // The connection is usable again, without a deadline left behind.
  q.deadline = std::chrono::seconds(60);
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(search(q).items.size(), 50u);
  }
  q.sort = DocumentSort::newest;
  q.deadline = std::chrono::microseconds(1);
  EXPECT_THROW(search(q), domain::Error);
}

TEST_F(DocumentSearchTest, MatchingAfterWalksASnapshotInSeqOrder) {
  for (int i = 0; i < 10; ++i) {
    add(i, "T", i % 2 == 0 ? "even entry" : "odd entry");
  }
  DocumentFilter f;
  f.match = match("even");
  f.max_seq = store_->read_value([](Reader& r) { return r.max_document_seq(); });
  add(10, "T", "even later");
  std::vector<std::string> seen;
  std::int64_t after = 0;
  for (;;) {
    auto batch = store_->read_value([&](Reader& r) { return r.matching_documents_after(f, after, 2); });
    if (batch.empty()) {
      break;
    }
    for (const auto& d : batch) {
      seen.push_back(d.source_id);
      EXPECT_GT(d.seq, after);
      after = d.seq;
    }
  }
  EXPECT_THAT(seen, ElementsAre("src-0", "src-2", "src-4", "src-6", "src-8"));
}

TEST_F(DocumentSearchTest, FindReturnsTheWholeDocument) {
  const std::string text(70000, 'z');
  add(1, "Big", text);
  auto doc = store_->read_value([](Reader& r) { return r.find_document("doc-100001"); });
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->text, text);
  EXPECT_EQ(doc->source_id, "src-1");
  EXPECT_EQ(doc->job_id, "job");
  EXPECT_FALSE(store_->read_value([](Reader& r) { return r.find_document("nope"); }));
  auto many = store_->read_value([](Reader& r) {
    return r.find_documents({"doc-100001", "missing", "doc-100001"});
  });
  ASSERT_EQ(many.size(), 1u);
  EXPECT_TRUE(many[0].text.empty());
}

TEST(MarkedHtmlTest, EscapesEverythingButTheMarkers) {
  EXPECT_EQ(documents::marked_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(documents::marked_html("x\xEE\x80\x80hit\xEE\x80\x81y"), "x<mark>hit</mark>y");
}

}  // namespace
}  // namespace mladmin::store::sqlite
