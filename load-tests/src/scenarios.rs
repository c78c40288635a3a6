//! The workers: each runs its share of a scenario and returns its samples.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use docket_client::protocol::channel::EventBody;
use docket_client::{Channel, ChannelOptions, Update};
use docket_protocol::ids::MatterId;
use futures_util::StreamExt;
use tokio::io::AsyncBufReadExt;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::stats::WorkerResult;
use crate::{now_micros, setup, Cli, Scenario};

/// Runs worker `index`'s share of the scenario.
pub async fn run_worker(cli: &Cli, index: usize) -> anyhow::Result<WorkerResult> {
    let tokens = cli.common.tokens.clone().context("tokens")?;
    let (subscriber, publisher) = tokens.split_once(',').context("two tokens")?;
    let workers = cli.common.processes.max(1);
    let share = |total: usize| total / workers + usize::from(index < total % workers);
    match cli.scenario {
        Scenario::Idle {
            sockets, matters, ..
        } => {
            let ids = if matters > 0 {
                setup::matter_ids(cli, publisher, matters).await?
            } else {
                Vec::new()
            };
            idle(cli, subscriber, share(sockets), &ids, index * sockets).await
        }
        Scenario::Fanout {
            subscribers,
            rate,
            seconds,
        } => {
            let matters = setup::matter_ids(cli, publisher, 1).await?;
            let publishing = index == 0;
            fan_out(
                cli,
                subscriber,
                publisher,
                &matters,
                share(subscribers),
                1,
                publishing.then_some(rate),
                seconds,
            )
            .await
        }
        Scenario::Matters {
            matters,
            per_matter,
            rate,
            seconds,
        } => {
            let ids = setup::matter_ids(cli, publisher, matters).await?;
            let mine: Vec<MatterId> = ids.iter().copied().skip(index).step_by(workers).collect();
            fan_out(
                cli,
                subscriber,
                publisher,
                &mine,
                mine.len() * per_matter,
                per_matter,
                Some(rate / workers as f64),
                seconds,
            )
            .await
        }
        Scenario::Sends {
            senders,
            rate,
            matters,
            seconds,
        } => {
            let ids = setup::matter_ids(cli, publisher, matters).await?;
            sends(
                cli,
                publisher,
                &ids,
                share(senders),
                rate / workers as f64,
                seconds,
            )
            .await
        }
    }
}

/// Opens `count` authenticated sockets (each subscribed to one of `matters`, if any, in turn
/// from `offset`), says READY, and holds them until stdin closes.
async fn idle(
    cli: &Cli,
    token: &str,
    count: usize,
    matters: &[MatterId],
    offset: usize,
) -> anyhow::Result<WorkerResult> {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    let url = format!("{}/api/v1/ws", cli.common.url.replacen("http", "ws", 1));
    let sockets = futures_util::stream::iter(0..count)
        .map(|i| {
            let url = url.clone();
            let matter = (!matters.is_empty()).then(|| matters[(offset + i) % matters.len()]);
            async move {
                let mut request = url.into_client_request()?;
                request
                    .headers_mut()
                    .insert("sec-websocket-protocol", "docket.v1".parse()?);
                request
                    .headers_mut()
                    .insert("authorization", format!("Bearer {token}").parse()?);
                let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
                socket.next().await; // hello
                if let Some(matter) = matter {
                    let subscribe = serde_json::json!({"type": "subscribe", "matter_id": matter});
                    socket.send(Message::text(subscribe.to_string())).await?;
                    loop {
                        match socket.next().await.context("closed while subscribing")?? {
                            Message::Text(text) if text.contains(r#""type":"subscribed""#) => break,
                            Message::Text(text) if text.contains(r#""type":"error""#) => {
                                anyhow::bail!("subscription refused: {text}")
                            }
                            _ => {}
                        }
                    }
                }
                anyhow::Ok(socket)
            }
        })
        .buffer_unordered(100)
        .collect::<Vec<_>>()
        .await;
    let opened: Vec<_> = sockets.into_iter().collect::<Result<_, _>>()?;
    println!("READY {}", opened.len());
    // Hold (answering pings) until the parent closes our stdin.
    let held = Arc::new(Mutex::new(opened));
    let keeper = {
        let held = held.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                for socket in held.lock().await.iter_mut() {
                    while let Some(Some(_)) = futures_util::FutureExt::now_or_never(socket.next()) {
                    }
                }
            }
        })
    };
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while stdin.next_line().await.ok().flatten().is_some() {}
    keeper.abort();
    Ok(WorkerResult::default())
}

async fn subscribe_all(
    cli: &Cli,
    token: &str,
    matters: &[MatterId],
    count: usize,
    per_matter: usize,
) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(count);
    for i in 0..count {
        let mut options = ChannelOptions::new(vec![cli.common.url.clone()], token.to_owned());
        options.buffer = 1024;
        let mut channel = Channel::connect(options);
        let matter = matters[(i / per_matter.max(1)) % matters.len()];
        channel.subscribe(matter, None);
        loop {
            match tokio::time::timeout(Duration::from_secs(30), channel.next())
                .await
                .context("subscribing")?
            {
                Some(Update::Subscribed { .. }) => break,
                Some(Update::Error { message, .. }) => {
                    anyhow::bail!("subscription refused: {message}")
                }
                Some(_) => {}
                None => anyhow::bail!("channel closed while subscribing"),
            }
        }
        channels.push(channel);
    }
    Ok(channels)
}

/// Subscribers record (receive time − scheduled send time) of each message; the publisher sends
/// open-loop at `rate`, each message carrying its scheduled time.
#[allow(clippy::too_many_arguments)]
async fn fan_out(
    cli: &Cli,
    subscriber: &str,
    publisher: &str,
    matters: &[MatterId],
    count: usize,
    per_matter: usize,
    rate: Option<f64>,
    seconds: u64,
) -> anyhow::Result<WorkerResult> {
    let channels = subscribe_all(cli, subscriber, matters, count, per_matter).await?;
    let mut participants = Vec::with_capacity(channels.len());
    let mut receivers = Vec::new();
    let start_at = ready_then_start().await?;
    let end = start_at + seconds * 1_000_000;
    let drain_until = end + 3_000_000;
    for channel in channels {
        let (handle, mut updates) = channel.split();
        participants.push(handle);
        receivers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let left = drain_until.saturating_sub(now_micros());
                match tokio::time::timeout(Duration::from_micros(left), updates.recv()).await {
                    Ok(Some(Update::Event(event))) => {
                        let received = now_micros();
                        if let EventBody::Message {
                            text: Some(text), ..
                        } = event.body
                        {
                            if let Ok(scheduled) = text.parse::<u64>() {
                                samples.push(received.saturating_sub(scheduled));
                            }
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => return samples,
                }
            }
        }));
    }
    let acks = match rate {
        // Many small matters: the participants themselves write, in turn, to their own matter.
        Some(rate) if per_matter > 1 => {
            let targets: Vec<(usize, MatterId)> = (0..per_matter)
                .flat_map(|p| {
                    matters
                        .iter()
                        .enumerate()
                        .map(move |(i, m)| (i * per_matter + p, *m))
                })
                .filter(|(h, _)| *h < participants.len())
                .collect();
            publish(&participants, &targets, rate, start_at, end).await
        }
        // One matter: a separate publisher (a fee earner) writes to it.
        Some(rate) => {
            let (publisher, updates) = Channel::connect(ChannelOptions::new(
                vec![cli.common.url.clone()],
                publisher.to_owned(),
            ))
            .split();
            drain(updates);
            let targets: Vec<(usize, MatterId)> = matters.iter().map(|m| (0, *m)).collect();
            publish(&[publisher], &targets, rate, start_at, end).await
        }
        None => Vec::new(),
    };
    let published = acks.iter().filter(|a| a.is_some()).count() as u64;
    let errors = acks.len() as u64 - published;
    let mut latencies = Vec::new();
    for receiver in receivers {
        latencies.extend(receiver.await?);
    }
    Ok(WorkerResult {
        latencies_us: latencies,
        messages: published,
        errors,
        seconds: seconds as f64,
    })
}

/// Tells the parent this worker is ready, and waits for the start time (`GO <unix ms>`).
async fn ready_then_start() -> anyhow::Result<u64> {
    println!("READY");
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let line = stdin.next_line().await?.context("the parent went away")?;
    let ms: u64 = line
        .strip_prefix("GO ")
        .context("expected GO")?
        .trim()
        .parse()?;
    Ok(ms * 1000)
}

/// Reads and discards a sender's own updates, so its connection keeps flowing.
fn drain(mut updates: tokio::sync::mpsc::Receiver<Update>) {
    tokio::spawn(async move { while updates.recv().await.is_some() {} });
}

/// Sends open-loop at `rate`, message `n` going to `targets[n % len]` (sender index, matter);
/// returns each send's acknowledgement latency from its scheduled time (`None`: it failed).
async fn publish(
    senders: &[docket_client::ChannelHandle],
    targets: &[(usize, MatterId)],
    rate: f64,
    start_at: u64,
    end: u64,
) -> Vec<Option<u64>> {
    let interval = 1_000_000.0 / rate.max(0.001);
    let mut tasks = Vec::new();
    let mut n = 0u64;
    loop {
        let scheduled = start_at + (n as f64 * interval) as u64;
        if scheduled >= end || targets.is_empty() {
            break;
        }
        let now = now_micros();
        if scheduled > now {
            tokio::time::sleep(Duration::from_micros(scheduled - now)).await;
        }
        let (sender, matter) = targets[n as usize % targets.len()];
        let channel = senders[sender].clone();
        tasks.push(tokio::spawn(async move {
            match channel.send(matter, &scheduled.to_string()).await {
                Ok(_) => Some(now_micros().saturating_sub(scheduled)),
                Err(err) => {
                    eprintln!("send failed: {err}");
                    None
                }
            }
        }));
        n += 1;
    }
    let mut acks = Vec::with_capacity(tasks.len());
    for task in tasks {
        acks.push(task.await.ok().flatten());
    }
    acks
}

/// `count` senders share `rate`; each records send → ack latency from the scheduled time.
async fn sends(
    cli: &Cli,
    token: &str,
    matters: &[MatterId],
    count: usize,
    rate: f64,
    seconds: u64,
) -> anyhow::Result<WorkerResult> {
    let channels = subscribe_all(cli, token, matters, count.max(1), 1).await?;
    let senders: Vec<_> = channels
        .into_iter()
        .map(|channel| {
            let (handle, updates) = channel.split();
            drain(updates);
            handle
        })
        .collect();
    // Every matter is written to: with more matters than senders, each sender takes turns over
    // its share of them (and posts to those it does not follow).
    let targets: Vec<(usize, MatterId)> = (0..senders.len().max(matters.len()))
        .map(|i| (i % senders.len(), matters[i % matters.len()]))
        .collect();
    let start_at = ready_then_start().await?;
    let acks = publish(
        &senders,
        &targets,
        rate,
        start_at,
        start_at + seconds * 1_000_000,
    )
    .await;
    let errors = acks.iter().filter(|a| a.is_none()).count() as u64;
    let latencies: Vec<u64> = acks.into_iter().flatten().collect();
    Ok(WorkerResult {
        messages: latencies.len() as u64,
        latencies_us: latencies,
        errors,
        seconds: seconds as f64,
    })
}
