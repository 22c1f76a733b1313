//! No false answers under load: whoami stays right while sessions are created and revoked.

#[allow(unused_imports)]
use super::*;

// Item 4: no false answers under load
// ---------------------------------------------------------------------------------------------

/// Never revoked: must always answer 200.
const STABLE: u8 = 0;
/// Created during the load, no revocation sent yet.
const LIVE: u8 = 1;
/// A revocation is in flight: either answer is right.
const REVOKING: u8 = 2;
/// The revocation was acknowledged: must answer 401 to any request sent afterwards.
const REVOKED: u8 = 3;

struct Tracked {
    id: String,
    token: String,
    state: AtomicU8,
}

#[derive(Default)]
struct LoadCounts {
    requests: AtomicU64,
    checked_200: AtomicU64,
    checked_401: AtomicU64,
    unchecked: AtomicU64,
    wrong_401: AtomicU64,
    wrong_200: AtomicU64,
    other: AtomicU64,
    created: AtomicU64,
    revoked: AtomicU64,
    problems: Mutex<Vec<String>>,
}

const LOAD_SECONDS: u64 = 10;
const WHOAMI_TASKS: usize = 16;
const CHURN_TASKS: usize = 4;
const STABLE_IDENTITIES: usize = 10;
const STABLE_SESSIONS_EACH: usize = 8;

async fn whoami_checker(
    api: Api,
    stable: Arc<Vec<Arc<Tracked>>>,
    churn: Arc<RwLock<Vec<Arc<Tracked>>>>,
    counts: Arc<LoadCounts>,
    deadline: Instant,
) {
    let mut rng = StdRng::from_entropy();
    while Instant::now() < deadline {
        let t = if rng.gen_bool(0.5) {
            stable[rng.gen_range(0..stable.len())].clone()
        } else {
            let c = churn.read().unwrap();
            // Half the time one of the latest: the freshly created and freshly revoked.
            let from = if rng.gen_bool(0.5) {
                c.len().saturating_sub(32)
            } else {
                0
            };
            c[rng.gen_range(from..c.len())].clone()
        };
        let before = t.state.load(Ordering::SeqCst);
        let res = api.whoami(&t.token).await;
        let after = t.state.load(Ordering::SeqCst);
        counts.requests.fetch_add(1, Ordering::Relaxed);
        let st = match res {
            Ok((st, _)) => st,
            Err(e) => {
                counts.other.fetch_add(1, Ordering::Relaxed);
                counts
                    .problems
                    .lock()
                    .unwrap()
                    .push(format!("whoami transport error: {e}"));
                continue;
            }
        };
        match (before, after, st) {
            (STABLE, _, 200) => counts.checked_200.fetch_add(1, Ordering::Relaxed),
            (STABLE, _, 401) => {
                counts.wrong_401.fetch_add(1, Ordering::Relaxed);
                counts.problems.lock().unwrap().push(format!(
                    "WRONG 401: session {} (never revoked) refused",
                    t.id
                ));
                0
            }
            (LIVE, LIVE, 200) => counts.checked_200.fetch_add(1, Ordering::Relaxed),
            (LIVE, LIVE, 401) => {
                counts.wrong_401.fetch_add(1, Ordering::Relaxed);
                counts.problems.lock().unwrap().push(format!(
                    "WRONG 401: session {} (created during the load, no revocation sent) refused",
                    t.id
                ));
                0
            }
            (REVOKED, _, 401) => counts.checked_401.fetch_add(1, Ordering::Relaxed),
            (REVOKED, _, 200) => {
                counts.wrong_200.fetch_add(1, Ordering::Relaxed);
                counts.problems.lock().unwrap().push(format!(
                    "WRONG 200: session {} accepted after its revocation was acknowledged",
                    t.id
                ));
                0
            }
            (_, _, 200 | 401) => counts.unchecked.fetch_add(1, Ordering::Relaxed),
            (_, _, other) => {
                counts.other.fetch_add(1, Ordering::Relaxed);
                counts
                    .problems
                    .lock()
                    .unwrap()
                    .push(format!("whoami answered {other} for session {}", t.id));
                0
            }
        };
    }
}

/// Creates and revokes sessions of its own identity until the deadline, with every revocation
/// kind; states move LIVE → REVOKING (request sent) → REVOKED (acknowledged).
async fn churner(
    api: Api,
    email: String,
    churn: Arc<RwLock<Vec<Arc<Tracked>>>>,
    counts: Arc<LoadCounts>,
    deadline: Instant,
) {
    let mut rng = StdRng::from_entropy();
    let mut live: Vec<Arc<Tracked>> = Vec::new();
    let problem = |p: String| counts.problems.lock().unwrap().push(p);
    while Instant::now() < deadline {
        if live.len() < 3 || (live.len() < 8 && rng.gen_bool(0.5)) {
            match api.login(&email).await {
                Ok((200, b)) => {
                    let t = Arc::new(Tracked {
                        id: s(&b["session"]["id"]),
                        token: s(&b["session_token"]),
                        state: AtomicU8::new(LIVE),
                    });
                    counts.created.fetch_add(1, Ordering::Relaxed);
                    churn.write().unwrap().push(t.clone());
                    live.push(t);
                }
                Ok((st, b)) => problem(format!("login under load answered {st}: {}", show(&b))),
                Err(e) => problem(format!("login under load: transport error {e}")),
            }
            continue;
        }
        let n = live.len();
        let kind = rng.gen_range(0..4);
        let cur = rng.gen_range(0..n);
        let targets: Vec<usize> = match kind {
            2 => (0..n).filter(|t| *t != cur).collect(),
            1 => vec![(cur + rng.gen_range(1..n)) % n],
            _ => vec![cur],
        };
        for t in &targets {
            live[*t].state.store(REVOKING, Ordering::SeqCst);
        }
        let (res, want, how) = match kind {
            0 => (api.logout(&live[cur].token).await, 204, "logout"),
            1 => (
                api.disable_my_session(&live[cur].token, &live[targets[0]].id)
                    .await,
                204,
                "disableMySession",
            ),
            2 => (
                api.disable_my_other_sessions(&live[cur].token).await,
                200,
                "disableMyOtherSessions",
            ),
            _ => (
                api.admin_disable_session(&live[cur].id).await,
                204,
                "adminDisableSession",
            ),
        };
        match res {
            Ok((st, b)) if st == want => {
                if kind == 2 && b["count"] != json!(targets.len()) {
                    problem(format!(
                        "disableMyOtherSessions counted {} for {} other live sessions",
                        b["count"],
                        targets.len()
                    ));
                }
                for t in &targets {
                    live[*t].state.store(REVOKED, Ordering::SeqCst);
                }
                counts
                    .revoked
                    .fetch_add(targets.len() as u64, Ordering::Relaxed);
            }
            // Not acknowledged: the sessions stay REVOKING (never checked again).
            Ok((st, b)) => problem(format!("{how} under load answered {st}: {}", show(&b))),
            Err(e) => problem(format!("{how} under load: transport error {e}")),
        }
        let mut idx = targets;
        idx.sort_unstable();
        for t in idx.into_iter().rev() {
            live.remove(t);
        }
    }
}

async fn no_false_answers_under_load(db: Db) {
    let label = db.label();
    db.migrate();
    let mut node = Node::new(&db, &format!("load-{label}"));
    node.start().await;
    let api = node.api();

    // Stable sessions (never revoked) and churn identities, made before the load.
    let mut emails = Vec::new();
    for _ in 0..STABLE_IDENTITIES + CHURN_TASKS {
        let e = email("load");
        let (st, b) = api.create_identity(&e).await.unwrap();
        assert_eq!(st, 201, "{}", show(&b));
        emails.push(e);
    }
    let logins: Vec<(String, String)> = futures::stream::iter(
        emails[..STABLE_IDENTITIES]
            .iter()
            .flat_map(|e| std::iter::repeat_n(e.clone(), STABLE_SESSIONS_EACH)),
    )
    .map(|e| {
        let api = api.clone();
        async move {
            let (st, b) = api.login(&e).await.unwrap();
            assert_eq!(st, 200, "{}", show(&b));
            (s(&b["session"]["id"]), s(&b["session_token"]))
        }
    })
    .buffer_unordered(8)
    .collect()
    .await;
    let stable: Arc<Vec<Arc<Tracked>>> = Arc::new(
        logins
            .into_iter()
            .map(|(id, token)| {
                Arc::new(Tracked {
                    id,
                    token,
                    state: AtomicU8::new(STABLE),
                })
            })
            .collect(),
    );
    // The churn pool starts with a few sessions revoked before the load.
    let churn: Arc<RwLock<Vec<Arc<Tracked>>>> = Arc::new(RwLock::new(Vec::new()));
    for e in &emails[STABLE_IDENTITIES..] {
        for _ in 0..2 {
            let (st, b) = api.login(e).await.unwrap();
            assert_eq!(st, 200);
            let (st, _) = api.logout(&s(&b["session_token"])).await.unwrap();
            assert_eq!(st, 204);
            churn.write().unwrap().push(Arc::new(Tracked {
                id: s(&b["session"]["id"]),
                token: s(&b["session_token"]),
                state: AtomicU8::new(REVOKED),
            }));
        }
    }

    let counts = Arc::new(LoadCounts::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(LOAD_SECONDS);
    let mut tasks = Vec::new();
    for e in &emails[STABLE_IDENTITIES..] {
        tasks.push(tokio::spawn(churner(
            api.clone(),
            e.clone(),
            churn.clone(),
            counts.clone(),
            deadline,
        )));
    }
    for _ in 0..WHOAMI_TASKS {
        tasks.push(tokio::spawn(whoami_checker(
            api.clone(),
            stable.clone(),
            churn.clone(),
            counts.clone(),
            deadline,
        )));
    }
    for t in tasks {
        t.await.expect("load task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    node.kill();
    let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
    let problems = counts.problems.lock().unwrap().clone();
    println!(
        "[load {label}] {:.1} s, {WHOAMI_TASKS} whoami tasks + {CHURN_TASKS} churn tasks over {} stable sessions: {} whoami requests ({:.0}/s), {} checked (expected 200: {}, expected 401: {}), {} unchecked (revocation in flight); {} sessions created and {} revoked during the load; wrong 401s: {}, wrong 200s: {}, other answers/errors: {}",
        elapsed,
        stable.len(),
        get(&counts.requests),
        get(&counts.requests) as f64 / elapsed,
        get(&counts.checked_200) + get(&counts.checked_401),
        get(&counts.checked_200),
        get(&counts.checked_401),
        get(&counts.unchecked),
        get(&counts.created),
        get(&counts.revoked),
        get(&counts.wrong_401),
        get(&counts.wrong_200),
        get(&counts.other)
    );
    print_anomalies(&format!("[load {label}] problems"), &problems);
    assert_eq!(
        get(&counts.wrong_401),
        0,
        "{label}: wrong 401s: {problems:?}"
    );
    assert_eq!(
        get(&counts.wrong_200),
        0,
        "{label}: wrong 200s: {problems:?}"
    );
    assert!(problems.is_empty(), "{label}: {problems:?}");
    assert!(
        get(&counts.checked_200) > 0 && get(&counts.checked_401) > 0 && get(&counts.revoked) > 0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_false_answers_under_load_sqlite() {
    no_false_answers_under_load(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_false_answers_under_load_postgres() {
    if !postgres_available().await {
        return;
    }
    no_false_answers_under_load(Db::postgres().await).await;
}
