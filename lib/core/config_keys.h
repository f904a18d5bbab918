/*
 * The one table of configuration keys. Everything else is generated from it:
 * the values struct (config_values.h), parsing, range checks, text output,
 * introspection, and docs/config.md (tools/gen-config-doc).
 *
 * WSRL__KEY(TYPE, "name", field, "default", min, max, "choices", "doc")
 *   TYPE     INT | FLOAT | BOOL | ENUM | INT_LIST
 *   min/max  numeric range (per element for lists; ENUM ignores them)
 *   choices  ENUM names separated by '|'; "" otherwise
 * FLOAT keys whose default is "auto" store NaN and accept "auto".
 * Defaults are the WSRL reference's locomotion settings (ALGORITHMS.md).
 */
/* clang-format off */
#define WSRL__CONFIG_KEYS(X) \
  X(ENUM,     "agent.algorithm",            agent_algorithm,        "calql",  0, 0, "sac|cql|calql|iql|td3bc", "Learner: sac (online SAC-ensemble), cql, calql, iql or td3bc (offline pretraining losses).") \
  X(INT,      "agent.seed",                 agent_seed,             "0",      0, 9.2e18, "", "Seed of the agent's RNG stream (networks init, sampling, subsets).") \
  X(INT,      "agent.threads",              agent_threads,          "0",      0, 1024, "", "oneDNN threads for this agent; 0 keeps the runtime's default (OMP_NUM_THREADS or all cores).") \
  X(ENUM,     "nn.precision",               nn_precision,           "fp32",   0, 0, "fp32|bf16", "Matmul inputs: fp32 (bitwise reproducible default) or bf16 with fp32 accumulation (weights, gradients, Adam state, losses and element-wise work stay fp32); bf16 needs AVX-512 (native on AVX512-BF16/AMX), else creation fails with WSRL_ERR_UNSUPPORTED. See docs/performance.md.") \
  X(INT,      "critic.ensemble_size",       critic_ensemble_size,   "10",     1, 64, "", "Number of critics E in the ensemble.") \
  X(INT,      "critic.subsample",           critic_subsample,       "2",      1, 64, "", "Target critics drawn (with replacement) for the min in the TD target; must be <= ensemble_size.") \
  X(INT_LIST, "critic.hidden",              critic_hidden,          "256,256", 1, 65536, "", "Hidden layer widths of each critic MLP.") \
  X(BOOL,     "critic.layer_norm",          critic_layer_norm,      "1",      0, 1, "", "LayerNorm after every hidden Dense of the critics.") \
  X(FLOAT,    "critic.kernel_scale_final",  critic_kernel_scale_final, "0.01", 0, 1e3, "", "Orthogonal-init gain of the last hidden layer of the critics; 0 uses sqrt(2) like the others.") \
  X(ENUM,     "critic.kernel_init",         critic_kernel_init,     "orthogonal", 0, 0, "orthogonal|var_scaling", "Init of the critics' (and IQL value network's) hidden kernels: orthogonal (gain sqrt(2)) or var_scaling (flax variance_scaling fan_avg uniform, the reference IQL's).") \
  X(BOOL,     "critic.evaluate_all_targets", critic_evaluate_all_targets, "0", 0, 1, "", "1: evaluate all E target critics, then pick the drawn subset (the reference's work); 0: evaluate only the drawn members (the same numbers, less work).") \
  X(INT_LIST, "actor.hidden",               actor_hidden,           "256,256", 1, 65536, "", "Hidden layer widths of the actor MLP.") \
  X(BOOL,     "actor.layer_norm",           actor_layer_norm,       "1",      0, 1, "", "LayerNorm after every hidden Dense of the actor.") \
  X(FLOAT,    "actor.kernel_scale_final",   actor_kernel_scale_final, "0.01", 0, 1e3, "", "Orthogonal-init gain of the actor's last hidden layer; 0 uses sqrt(2).") \
  X(ENUM,     "actor.kernel_init",          actor_kernel_init,      "orthogonal", 0, 0, "orthogonal|var_scaling", "Init of the actor's hidden kernels: orthogonal (gain sqrt(2)) or var_scaling (flax variance_scaling fan_avg uniform, the reference IQL's).") \
  X(ENUM,     "actor.std_parameterization", actor_std_parameterization, "exp", 0, 0, "exp|uniform", "exp: state-dependent log-std head; uniform: one learned log-std vector.") \
  X(BOOL,     "actor.tanh_squash",          actor_tanh_squash,      "1",      0, 1, "", "Squash actions with tanh (off only for IQL's Gaussian policy).") \
  X(FLOAT,    "optim.actor_lr",             optim_actor_lr,         "1e-4",   0, 1, "", "Adam learning rate of the actor.") \
  X(FLOAT,    "optim.critic_lr",            optim_critic_lr,        "3e-4",   0, 1, "", "Adam learning rate of the critics (and IQL value network).") \
  X(FLOAT,    "optim.temperature_lr",       optim_temperature_lr,   "1e-4",   0, 1, "", "Adam learning rate of the SAC temperature.") \
  X(FLOAT,    "optim.adam_beta1",           optim_adam_beta1,       "0.9",    0, 0.999999, "", "Adam beta1.") \
  X(FLOAT,    "optim.adam_beta2",           optim_adam_beta2,       "0.999",  0, 0.999999999, "", "Adam beta2.") \
  X(FLOAT,    "optim.adam_eps",             optim_adam_eps,         "1e-8",   1e-30, 1, "", "Adam epsilon (> 0: it keeps the step finite where a second moment is 0).") \
  X(FLOAT,    "optim.grad_clip",            optim_grad_clip,        "0",      0, 1e9, "", "Global-norm gradient clipping per network; 0 disables.") \
  X(ENUM,     "optim.step_untrained",       optim_step_untrained,   "reference", 0, 0, "reference|skip", "reference: every optimizer steps on every update (zero gradients still move by momentum); skip: only trained networks step.") \
  X(INT,      "update.batch_size",          update_batch_size,      "256",    1, 1048576, "", "Critic minibatch size; one update draws update.utd * update.batch_size transitions and the actor steps on all of them.") \
  X(INT,      "update.utd",                 update_utd,             "4",      1, 64, "", "Update-to-data ratio U: critic steps per update (per environment step online); 1 while pretraining.") \
  X(FLOAT,    "td.discount",                td_discount,            "0.99",   0, 1, "", "Discount gamma of every TD target and of the MC returns.") \
  X(FLOAT,    "td.tau",                     td_tau,                 "0.005",  0, 1, "", "Polyak rate of the target critics (and IQL's target critics).") \
  X(BOOL,     "td.backup_entropy",          td_backup_entropy,      "0",      0, 1, "", "SAC learner: subtract alpha*log pi(a'|s') inside the TD target (never in CQL's).") \
  X(ENUM,     "td.max_target_backup",       td_max_target_backup,   "cql",    0, 0, "cql|all|none", "Max over td.max_target_actions next actions of the subset-min target: cql for the CQL and Cal-QL learners only (the reference's locomotion setting), all also for the SAC learner (the reference's antmaze setting), none for no learner.") \
  X(INT,      "td.max_target_actions",      td_max_target_actions,  "10",     1, 1024, "", "Next actions a' ~ pi(.|s') per state of the max-target backup (and of the SAC temperature loss under it).") \
  X(FLOAT,    "temperature.initial",        temperature_initial,    "1.0",    1e-8, 1e4, "", "Initial entropy temperature alpha (SAC, CQL and Cal-QL actors).") \
  X(FLOAT,    "temperature.target_entropy", temperature_target_entropy, "auto", -1e4, 1e4, "", "Target entropy of the temperature loss; auto = -action_dim.") \
  X(FLOAT,    "cql.alpha",                  cql_alpha,              "5.0",    0, 1e6, "", "Fixed CQL regulariser weight (when not autotuned).") \
  X(INT,      "cql.n_actions",              cql_n_actions,          "10",     1, 1024, "", "CQL regulariser: actions sampled per state from each of uniform, pi(.|s), pi(.|s') (the max-target backup has td.max_target_actions).") \
  X(BOOL,     "cql.importance_sample",      cql_importance_sample,  "1",      0, 1, "", "Subtract log-densities of the sampled actions in the logsumexp.") \
  X(FLOAT,    "cql.temp",                   cql_temp,               "1.0",    1e-6, 1e6, "", "Temperature of the CQL logsumexp.") \
  X(BOOL,     "cql.autotune_alpha",         cql_autotune_alpha,     "0",      0, 1, "", "Tune the CQL weight with a Lagrange multiplier toward target_action_gap.") \
  X(FLOAT,    "cql.target_action_gap",      cql_target_action_gap,  "0.8",    -1e6, 1e6, "", "Target of the mean CQL gap when autotuning.") \
  X(FLOAT,    "cql.lagrange_lr",            cql_lagrange_lr,        "3e-4",   0, 1, "", "Adam learning rate of the Lagrange multiplier.") \
  X(FLOAT,    "cql.lagrange_init",          cql_lagrange_init,      "1.0",    1e-8, 1e6, "", "Initial Lagrange multiplier.") \
  X(BOOL,     "calql.clip_uniform",         calql_clip_uniform,     "0",      0, 1, "", "Also clip the uniform-sampled Q values by the MC return (Cal-QL).") \
  X(BOOL,     "calql.online_completed_episodes", calql_online_completed_episodes, "1", 0, 1, "", "Cal-QL kept online (finetune.online_algorithm = same) draws its online rows from completed episodes only, whose MC returns are final (the reference's ReplayBufferMC).") \
  X(FLOAT,    "iql.expectile",              iql_expectile,          "0.7",    0, 1, "", "Expectile tau of the IQL value loss (0.9 for sparse goal tasks).") \
  X(FLOAT,    "iql.temperature",            iql_temperature,        "3.0",    0, 1e6, "", "Advantage temperature of IQL's AWR actor (10 for sparse goal tasks).") \
  X(FLOAT,    "iql.max_weight",             iql_max_weight,         "100",    0, 1e12, "", "Clip of IQL's exp-advantage weights.") \
  X(FLOAT,    "td3bc.alpha",                td3bc_alpha,            "2.5",    0, 1e6, "", "TD3+BC: weight alpha of the Q term of the actor loss; lambda = alpha / mean|Q| (not differentiated).") \
  X(FLOAT,    "td3bc.policy_noise",         td3bc_policy_noise,     "0.2",    0, 10, "", "TD3+BC: std of the target policy smoothing noise, in [-1, 1] action units.") \
  X(FLOAT,    "td3bc.noise_clip",           td3bc_noise_clip,       "0.5",    0, 10, "", "TD3+BC: clip of the target policy smoothing noise, in [-1, 1] action units.") \
  X(INT,      "td3bc.policy_freq",          td3bc_policy_freq,      "2",      1, 1000, "", "TD3+BC: the actor, its target and the target critics update once every policy_freq updates.") \
  X(FLOAT,    "td3bc.expl_noise",           td3bc_expl_noise,       "0.1",    0, 10, "", "TD3+BC: std of the exploration noise added to the actor's action online (stochastic act), in [-1, 1] action units.") \
  X(BOOL,     "td3bc.normalize_states",     td3bc_normalize_states, "1",      0, 1, "", "TD3+BC: normalise observations by the pretraining dataset's mean and std (+1e-3); saved in checkpoints.") \
  X(INT,      "finetune.warmup_steps",      finetune_warmup_steps,  "5000",   0, 1e12, "", "K: environment steps of the pretrained policy before any update (0 = no warmup).") \
  X(ENUM,     "finetune.offline_data",      finetune_offline_data,  "none",   0, 0, "none|mixed|append", "Offline data during fine-tuning: none (WSRL), mixed (a fraction offline_ratio of each batch) or append (copied into the online buffer).") \
  X(FLOAT,    "finetune.offline_ratio",     finetune_offline_ratio, "0.5",    0, 1, "", "Fraction of each batch drawn from offline data when offline_data = mixed.") \
  X(ENUM,     "finetune.mixed_layout",      finetune_mixed_layout,  "blocks", 0, 0, "blocks|interleaved", "offline_data = mixed: blocks puts the online rows first and the offline rows after (the reference's concatenation: at ratio 0.5 and UTD 4, two all-online then two all-offline critic minibatches); interleaved spreads them so every minibatch keeps the ratio.") \
  X(ENUM,     "finetune.online_algorithm",  finetune_online_algorithm, "sac", 0, 0, "sac|same", "sac: switch to the SAC-ensemble learner (WSRL); same: keep the pretraining loss online (CQL/Cal-QL/IQL baselines).") \
  X(BOOL,     "finetune.reset_optimizer",   finetune_reset_optimizer, "0",    0, 1, "", "Reset Adam moments at the switch (the reference keeps them).") \
  X(INT,      "finetune.start_updates_after", finetune_start_updates_after, "0", 0, 1e12, "", "Online transitions required before the first update; 0 = automatic (finetune.start_rule).") \
  X(ENUM,     "finetune.start_rule",        finetune_start_rule,    "reference", 0, 0, "reference|warmup", "Automatic start: reference waits until the online buffer holds more than max(K, online rows of an update) transitions (and the episode length for Cal-QL kept online), as the reference's min_steps_to_update; warmup starts right after the K warmup steps (Cal-QL kept online: max(utd*batch_size, episode length)).") \
  X(INT,      "replay.capacity",            replay_capacity,        "1000000", 1, 1e10, "", "Online replay buffer capacity (transitions).") \
  X(FLOAT,    "replay.reward_scale",        replay_reward_scale,    "1.0",    -1e9, 1e9, "", "Reward transform on insert: r * scale + bias (10 for sparse goal tasks).") \
  X(FLOAT,    "replay.reward_bias",         replay_reward_bias,     "0.0",    -1e9, 1e9, "", "Reward transform on insert: r * scale + bias (-5 for sparse goal tasks).") \
  X(FLOAT,    "replay.clip_action",         replay_clip_action,     "0.99999", 0, 1e9, "", "Clip stored actions (in [-1,1] units) to +-c; 0 disables.") \
  X(BOOL,     "replay.mc_sparse",           replay_mc_sparse,       "0",      0, 1, "", "Cal-QL sparse rule: an episode whose every raw reward equals replay.mc_sparse_reward gets MC return r/(1-gamma) at every step.") \
  X(FLOAT,    "replay.mc_sparse_reward",    replay_mc_sparse_reward, "0.0",   -1e9, 1e9, "", "The raw failure reward of the sparse rule (0 for antmaze-style tasks).") \
  X(BOOL,     "replay.allow_zero_reward_scale", replay_allow_zero_reward_scale, "0", 0, 1, "", "1 accepts replay.reward_scale = 0 (every stored reward becomes replay.reward_bias); 0 refuses it, since a zero scale is almost always an unset field.") \
  X(ENUM,     "replay.mismatch",            replay_mismatch,        "error",  0, 0, "error|warn", "A dataset buffer (wsrl_pretrain, finetune.offline_data) whose discount, reward transform or sparse rule differs from this config's td.discount and replay.* keys: error refuses it naming each field; warn logs a warning (WSRL_LOG_WARN) and goes on. Build dataset options with wsrl_replay_options_from_config() to agree.") \
  X(ENUM,     "env.nonfinite",              env_nonfinite,          "error",  0, 0, "error|skip_reset", "Non-finite observation or reward from the environment: error stops; skip_reset drops the step and resets.") \
  X(INT,      "eval.episodes",              eval_episodes,          "10",     1, 1e6, "", "Deterministic episodes per evaluation.") \
  X(INT,      "eval.interval",              eval_interval,          "5000",   0, 1e12, "", "Environment steps between evaluations during fine-tuning (0 = only at the start and end).") \
  X(INT,      "log.interval",               log_interval,           "1000",   1, 1e12, "", "Steps between progress/metrics callbacks.")

/* Keys renamed before 0.1.0: refused, with the new name in the message.
 * WSRL__RENAMED(old, new, note) */
#define WSRL__RENAMED_KEYS(X) \
  X("sac.batch_size",          "update.batch_size",   "") \
  X("sac.utd",                 "update.utd",          "") \
  X("sac.discount",            "td.discount",         "") \
  X("sac.tau",                 "td.tau",              "") \
  X("sac.backup_entropy",      "td.backup_entropy",   "") \
  X("sac.initial_temperature", "temperature.initial", "") \
  X("sac.target_entropy",      "temperature.target_entropy", "") \
  X("cql.max_target_backup",   "td.max_target_backup", " (cql.max_target_backup = 0 is td.max_target_backup = none)") \
  X("sac.max_target_backup",   "td.max_target_backup", " (sac.max_target_backup = 1 is td.max_target_backup = all; its next actions are td.max_target_actions, no longer cql.n_actions)")
/* clang-format on */
