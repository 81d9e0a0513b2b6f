//! The multi-instance test bed: three release instances behind nginx, sharing one
//! PostgreSQL database, Redis, an S3 store and a fake Stripe. Run by `cargo xtask cluster`,
//! which builds the release server and names it in `DEVFORGE_CLUSTER_BIN`.
//!
//! Each scenario spreads its requests over the instances and checks an invariant that only
//! holds if what must be shared is shared; each prints the figures it measured. They run
//! one after another on the same cluster, the one that stops an instance last.

mod check;
mod marketplace;
mod payments;
mod proxy;
mod rate_limits;
mod seats;
mod shutdown;

use devforge_tests::cluster::Cluster;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;

/// What a scenario reports: the figures it measured, or why it failed.
type Outcome = Result<Vec<String>, String>;
type Scenario = fn(Arc<Cluster>) -> Pin<Box<dyn Future<Output = Outcome> + Send>>;

const SCENARIOS: [(&str, Scenario); 9] = [
    (
        "one license per paid payment, webhooks delivered to every instance at once",
        |c| Box::pin(payments::one_license_per_payment(c)),
    ),
    (
        "the activation limit holds under parallel activations over the instances",
        |c| Box::pin(seats::activation_limit_holds(c)),
    ),
    (
        "one review per user and exact download counts over the instances",
        |c| Box::pin(marketplace::reviews_and_downloads(c)),
    ),
    (
        "a package uploaded through one instance downloads through every other",
        |c| Box::pin(marketplace::packages_are_shared(c)),
    ),
    (
        "the shared rate limit allows the configured rate in total, per client",
        |c| Box::pin(rate_limits::one_limit_for_all_instances(c)),
    ),
    (
        "with Redis stopped the instances answer by the documented rule, then recover",
        |c| Box::pin(rate_limits::redis_goes_away_and_comes_back(c)),
    ),
    (
        "revocation, suspension, edit and yank show on every instance within 1 s",
        |c| Box::pin(seats::changes_reach_every_instance(c)),
    ),
    ("what nginx refuses itself is a problem document too", |c| {
        Box::pin(proxy::refusals_are_problem_documents(c))
    }),
    (
        "SIGTERM under load: requests in flight finish, the proxy moves on",
        |c| Box::pin(shutdown::an_instance_stops_under_load(c)),
    ),
];

fn main() -> ExitCode {
    let Ok(binary) = std::env::var("DEVFORGE_CLUSTER_BIN") else {
        eprintln!("DEVFORGE_CLUSTER_BIN is not set: run `cargo xtask cluster`");
        return ExitCode::FAILURE;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let started = std::time::Instant::now();
        let cluster = match Cluster::start(std::path::Path::new(&binary)).await {
            Ok(cluster) => Arc::new(cluster),
            Err(e) => {
                eprintln!("the cluster did not start: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "cluster: {} instances behind nginx at {}, started in {:.1} s",
            cluster.instances.len(),
            cluster.proxy,
            started.elapsed().as_secs_f64()
        );
        let mut failed = 0;
        for (name, scenario) in SCENARIOS {
            let began = std::time::Instant::now();
            // A panic in a scenario fails it, not the run.
            let outcome = tokio::spawn(scenario(Arc::clone(&cluster)))
                .await
                .unwrap_or_else(|panic| Err(format!("panicked: {panic}")));
            let took = began.elapsed().as_secs_f64();
            match outcome {
                Ok(figures) => {
                    println!("ok     {name} ({took:.1} s)");
                    for figure in figures {
                        println!("         {figure}");
                    }
                }
                Err(why) => {
                    failed += 1;
                    println!("FAILED {name} ({took:.1} s)\n         {why}");
                }
            }
        }
        if failed > 0 {
            for (number, instance) in cluster.instances.iter().enumerate() {
                let log = instance.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- instance {} log (last lines)", number + 1);
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
            eprintln!("--- nginx error log\n{}", cluster.proxy_log());
            println!("cluster: {failed} of {} scenarios failed", SCENARIOS.len());
            ExitCode::FAILURE
        } else {
            println!("cluster: all {} scenarios passed", SCENARIOS.len());
            ExitCode::SUCCESS
        }
    })
}
