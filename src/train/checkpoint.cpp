// Checkpoints on top of save_npz/load_npz.
#include <sstream>

#include "tapegrad/train/checkpoint.hpp"
#include "tapegrad/io/npz.hpp"
#include "tapegrad/core/random.hpp"

namespace tapegrad {
namespace train {
using io::NpyArray;
namespace {

const std::string kMomentum = "optimizer.momentum_buffer.";
const std::string kGroups = "optimizer.param_groups.";
const std::string kHistory = "history.";
const std::string kSettings = "settings.";

template <class S> xt::xarray<S> scalar(S v) {
    xt::xarray<S> a = xt::xarray<S>::from_shape({});
    a() = v;
    return a;
}

// mt19937_64's text state is whitespace-separated integers: stored as a uint64 array.
xt::xarray<std::uint64_t> rng_to_array(const std::string& s) {
    std::istringstream is(s);
    std::vector<std::uint64_t> v;
    std::uint64_t x;
    while (is >> x) v.push_back(x);
    xt::xarray<std::uint64_t> a = xt::xarray<std::uint64_t>::from_shape({v.size()});
    std::copy(v.begin(), v.end(), a.begin());
    return a;
}
std::string array_to_rng(const xt::xarray<std::uint64_t>& a) {
    std::ostringstream os;
    for (std::size_t i = 0; i < a.size(); ++i) os << (i ? " " : "") << a.data()[i];
    return os.str();
}

using Arrays = std::vector<std::pair<std::string, io::NpyArray>>;

template <class T> void add_parameters(Arrays& out, const nn::Module<T>& model) {
    for (const auto& [name, p] : model.named_parameters()) out.emplace_back(name, io::to_npy(p.value()));
    for (const auto& [name, b] : model.named_buffers()) out.emplace_back(name, io::to_npy(b.value()));
}

// Parameters then buffers, in model order: everything a model file holds for this model.
template <class T> std::vector<std::pair<std::string, Tensor<T>>> model_state(const nn::Module<T>& model) {
    auto all = model.named_parameters();
    for (auto& b : model.named_buffers()) all.push_back(b);
    return all;
}

// Validated parameter values, by model order; throws before the model is touched.
template <class T>
std::vector<xt::xarray<T>> read_parameters(const char* fn, const std::string& path,
                                           const std::map<std::string, const NpyArray*>& byname,
                                           const nn::Module<T>& model) {
    std::vector<xt::xarray<T>> values;
    for (const auto& [name, p] : model_state(model)) {
        auto it = byname.find(name);
        if (it == byname.end())
            throw IOError(std::string(fn) + ": '" + path + "': missing parameter '" + name + "' (expected shape " +
                          shape_str(p.shape()) + ")");
        const io::NpyArray& a = *it->second;
        if (Shape(a.shape) != p.shape())
            throw IOError(std::string(fn) + ": '" + path + "': parameter '" + name + "' has shape " + shape_str(a.shape) +
                          " in the file, but the model expects " + shape_str(p.shape()));
        values.push_back(io::from_npy<T>(a, path + ":" + name));
    }
    return values;
}

std::map<std::string, const NpyArray*> index(const Arrays& arrays) {
    std::map<std::string, const NpyArray*> m;
    for (const auto& [n, a] : arrays) m[n] = &a;
    return m;
}

bool is_state_key(const std::string& n) {
    return n.rfind("optimizer.", 0) == 0 || n.rfind("scheduler.", 0) == 0 || n.rfind(kHistory, 0) == 0 ||
           n.rfind(kSettings, 0) == 0 || n == "epoch" || n == "rng_state";
}

io::NpyArray text_array(const std::string& v) {
    xt::xarray<std::uint8_t> a = xt::xarray<std::uint8_t>::from_shape({v.size()});
    std::copy(v.begin(), v.end(), a.begin());
    return io::to_npy(a);
}
std::string array_text(const NpyArray& a, const std::string& path, const std::string& key) {
    auto v = io::from_npy<std::uint8_t>(a, path + ":" + key);
    if (v.dimension() != 1)
        throw IOError("load_checkpoint: '" + path + "': '" + key + "' must be a 1-D byte array, found shape " +
                      shape_str_of(v.shape()));
    return std::string(v.begin(), v.end());
}
template <class S> io::NpyArray vector_array(const std::vector<S>& v) {
    xt::xarray<S> a = xt::xarray<S>::from_shape({v.size()});
    std::copy(v.begin(), v.end(), a.begin());
    return io::to_npy(a);
}

template <class T>
void check_no_unexpected(const char* fn, const std::string& path, const Arrays& arrays, const nn::Module<T>& model) {
    std::map<std::string, bool> params;
    for (const auto& np : model_state(model)) params[np.first] = true;
    std::string unexpected;
    for (const auto& [n, a] : arrays)
        if (!params.count(n) && !is_state_key(n)) unexpected += (unexpected.empty() ? "\"" : ", \"") + n + "\"";
    if (!unexpected.empty())
        throw IOError(std::string(fn) + ": '" + path + "': Unexpected key(s) in state_dict: " + unexpected);
}

// Every parameter of every param group with the name its momentum buffer is saved under: the
// model's name for it, or "param<k>" (k counting across the groups) for one the model lacks.
template <class T>
std::vector<std::pair<std::string, Tensor<T>>> optimizer_params(const nn::Module<T>& model, const optim::Optimizer<T>& opt) {
    const auto named = model.named_parameters();
    std::vector<std::pair<std::string, Tensor<T>>> out;
    for (const auto& g : opt.param_groups())
        for (const auto& p : g.params) {
            std::string name = "param" + std::to_string(out.size());
            for (const auto& np : named)
                if (np.second.same(p)) name = np.first;
            out.emplace_back(name, p);
        }
    return out;
}

template <class S> S read_scalar(const std::string& path, const std::map<std::string, const NpyArray*>& m, const std::string& key) {
    auto it = m.find(key);
    if (it == m.end()) throw IOError("load_checkpoint: '" + path + "': missing '" + key + "'");
    auto a = io::from_npy<S>(*it->second, path + ":" + key);
    if (a.size() != 1) throw IOError("load_checkpoint: '" + path + "': '" + key + "' must hold one value, found " + std::to_string(a.size()));
    return a.data()[0];
}

// The "settings.<flag>" arrays of a checkpoint: 1-D byte arrays of text.
std::map<std::string, std::string> settings_of(const std::vector<std::pair<std::string, NpyArray>>& arrays,
                                               const std::string& path, const char* fn) {
    std::map<std::string, std::string> settings;
    for (const auto& [n, a] : arrays)
        if (n.rfind(kSettings, 0) == 0) {
            auto v = io::from_npy<std::uint8_t>(a, path + ":" + n);
            if (v.dimension() != 1)
                throw IOError(std::string(fn) + ": '" + path + "': '" + n + "' must be a 1-D byte array, found shape " +
                              shape_str_of(v.shape()));
            settings[n.substr(kSettings.size())] = std::string(v.begin(), v.end());
        }
    return settings;
}

}  // namespace

template <class T> void save_model(const std::string& path, const nn::Module<T>& model) {
    Arrays arrays;
    add_parameters(arrays, model);
    io::save_npz(path, arrays);
}

template <class T> void load_model(const std::string& path, nn::Module<T>& model) {
    const Arrays arrays = io::load_npz(path);
    check_no_unexpected("load_model", path, arrays, model);
    auto values = read_parameters("load_model", path, index(arrays), model);
    auto state = model_state(model);
    for (std::size_t i = 0; i < state.size(); ++i) state[i].second.mutable_value() = std::move(values[i]);
}

template <class T>
void save_checkpoint(const std::string& path, const nn::Module<T>& model, const optim::Optimizer<T>& opt,
                     const TrainState& state, const optim::lr_scheduler::Scheduler<T>* sched) {
    if (!state.rng_state.empty()) {  // a state that cannot be restored is refused now, not at resume
        Generator probe;
        probe.set_state(state.rng_state);
    }
    Arrays arrays;
    add_parameters(arrays, model);
    // the optimizer's state dict: per-parameter state under the parameters' names, then the groups
    const auto sd = opt.state_dict();
    const auto named = optimizer_params(model, opt);
    for (const auto& [index, st] : sd.state)
        for (const auto& [key, buf] : st) arrays.emplace_back("optimizer." + key + "." + named[index].first, io::to_npy(buf));
    arrays.emplace_back("optimizer.type", text_array(opt.name()));
    const std::size_t G = sd.param_groups.size();
    xt::xarray<double> lrs = xt::xarray<double>::from_shape({G});
    for (std::size_t g = 0; g < G; ++g) lrs(g) = opt.param_groups()[g].lr;
    arrays.emplace_back("optimizer.lr", io::to_npy(lrs));
    if (G > 0)
        for (const auto& [name, v0] : sd.param_groups[0].options) {
            if (name == "lr") continue;
            xt::xarray<double> a = v0.size() == 1 ? xt::xarray<double>::from_shape({G}) : xt::xarray<double>::from_shape({G, v0.size()});
            for (std::size_t g = 0; g < G; ++g) {
                const auto& v = sd.param_groups[g].options.at(name);
                std::copy(v.begin(), v.end(), a.begin() + std::ptrdiff_t(g * v0.size()));
            }
            arrays.emplace_back(kGroups + name, io::to_npy(a));
        }
    arrays.emplace_back("epoch", io::to_npy(scalar<std::int64_t>(state.epoch)));
    arrays.emplace_back("rng_state", io::to_npy(rng_to_array(state.rng_state)));
    std::int64_t last_epoch = state.scheduler_last_epoch, step_count = state.scheduler_step_count;
    if (sched) {
        const auto ssd = sched->state_dict();
        last_epoch = std::int64_t(ssd.at("last_epoch")[0]);
        auto it = ssd.find("_step_count");
        step_count = it == ssd.end() ? 0 : std::int64_t(it->second[0]);
        arrays.emplace_back("scheduler.type", text_array(sched->name()));
        for (const auto& [k, v] : ssd)
            if (k != "last_epoch" && k != "_step_count") arrays.emplace_back("scheduler." + k, vector_array(v));
    }
    arrays.emplace_back("scheduler.last_epoch", io::to_npy(scalar<std::int64_t>(last_epoch)));
    arrays.emplace_back("scheduler.step_count", io::to_npy(scalar<std::int64_t>(step_count)));
    for (const auto& [k, v] : state.history) {
        xt::xarray<double> a = xt::xarray<double>::from_shape({v.size()});
        std::copy(v.begin(), v.end(), a.begin());
        arrays.emplace_back(kHistory + k, io::to_npy(a));
    }
    for (const auto& [k, v] : state.settings) arrays.emplace_back(kSettings + k, text_array(v));
    io::save_npz(path, arrays);
}

namespace {
// The optimizer's state dict as the checkpoint holds it (hyper-parameters absent from an older
// checkpoint keep the optimizer's values), checked by the optimizer.
template <class T>
optim::OptimizerStateDict<T> read_optimizer(const std::string& path, const Arrays& arrays,
                                            const std::map<std::string, const NpyArray*>& m, const nn::Module<T>& model,
                                            const optim::Optimizer<T>& opt) {
    const std::string where = "load_checkpoint: '" + path + "': ";
    auto tit = m.find("optimizer.type");
    const std::string type = tit == m.end() ? "SGD" : array_text(*tit->second, path, "optimizer.type");
    if (type != opt.name())
        throw IOError(where + "the checkpoint holds the state of " + type + ", the optimizer is " + opt.name());
    optim::OptimizerStateDict<T> sd = opt.state_dict();
    sd.state.clear();
    const auto named = optimizer_params(model, opt);
    const auto state_names = opt.state_names();
    for (std::size_t index = 0; index < named.size(); ++index) {
        const auto& [name, p] = named[index];
        for (const auto& s : state_names) {
            const std::string key = "optimizer." + s + "." + name;
            auto it = m.find(key);
            if (it == m.end()) continue;
            const Shape want = s == "step" ? Shape{} : p.shape();
            if (Shape(it->second->shape) != want)
                throw IOError(where + (s == "momentum_buffer" ? std::string("momentum buffer") : s) + " of '" + name +
                              "' has shape " + shape_str(it->second->shape) + ", the parameter has " + shape_str(want));
            sd.state[index][s] = io::from_npy<T>(*it->second, path + ":" + key);
        }
    }
    // every "optimizer.*" entry must be one of these: nothing is silently dropped
    for (const auto& [n, a] : arrays) {
        if (n.rfind("optimizer.", 0) != 0 || n == "optimizer.type" || n == "optimizer.lr" || n.rfind(kGroups, 0) == 0) continue;
        bool known = false;
        for (const auto& s : state_names)
            for (const auto& np : named) known = known || n == "optimizer." + s + "." + np.first;
        if (!known) throw IOError(where + "'" + n + "' is not state of this " + opt.name() + " optimizer's parameters");
    }
    auto lit = m.find("optimizer.lr");
    if (lit == m.end()) throw IOError(where + "missing 'optimizer.lr'");
    auto lrs = io::from_npy<double>(*lit->second, path + ":optimizer.lr");
    const std::size_t G = opt.param_groups().size();
    if (lrs.size() != G)
        throw IOError(where + "'optimizer.lr' has " + std::to_string(lrs.size()) + " values for " + std::to_string(G) +
                      " param groups");
    for (std::size_t g = 0; g < G; ++g) sd.param_groups[g].options["lr"] = {lrs.data()[g]};
    for (const auto& [n, a] : arrays) {
        if (n.rfind(kGroups, 0) != 0) continue;
        const std::string opt_name = n.substr(kGroups.size());
        auto v = io::from_npy<double>(a, path + ":" + n);
        const std::size_t width = G ? v.size() / G : 0;
        if (v.dimension() < 1 || v.shape()[0] != G || v.dimension() > 2)
            throw IOError(where + "'" + n + "' has shape " + shape_str_of(v.shape()) + ", expected one row per param group (" +
                          std::to_string(G) + ")");
        if (G && !sd.param_groups[0].options.count(opt_name))
            throw IOError(where + "'" + n + "' is not a hyper-parameter of " + opt.name());
        for (std::size_t g = 0; g < G; ++g)
            sd.param_groups[g].options[opt_name] = std::vector<double>(v.begin() + std::ptrdiff_t(g * width),
                                                                      v.begin() + std::ptrdiff_t((g + 1) * width));
    }
    try {
        opt.check_state_dict(sd);
    } catch (const Error& e) {
        throw IOError(where + e.what());
    }
    return sd;
}

// The scheduler's state dict as the checkpoint holds it, checked by the scheduler. A checkpoint from
// before schedulers were saved whole has only the two counters: the rest is the scheduler's own.
template <class T>
optim::lr_scheduler::SchedulerStateDict read_scheduler(const std::string& path, const Arrays& arrays,
                                                       const std::map<std::string, const NpyArray*>& m,
                                                       const optim::lr_scheduler::Scheduler<T>& sched,
                                                       std::int64_t last_epoch, std::int64_t step_count,
                                                       const std::vector<double>& lrs) {
    const std::string where = "load_checkpoint: '" + path + "': ";
    auto tit = m.find("scheduler.type");
    const bool legacy = tit == m.end();
    if (!legacy) {
        const std::string type = array_text(*tit->second, path, "scheduler.type");
        if (type != sched.name()) throw IOError(where + "the checkpoint holds the state of " + type + ", the scheduler is " + sched.name());
    }
    auto sd = sched.state_dict();
    for (auto& [k, v] : sd) {
        if (k == "last_epoch") {
            v = {double(last_epoch)};
        } else if (k == "_step_count") {
            v = {double(step_count)};
        } else {
            auto it = m.find("scheduler." + k);
            if (it != m.end()) {
                auto a = io::from_npy<double>(*it->second, path + ":scheduler." + k);
                if (a.dimension() != 1)
                    throw IOError(where + "'scheduler." + k + "' must be 1-D, found shape " + shape_str_of(a.shape()));
                v.assign(a.begin(), a.end());
            } else if (legacy && k == "_last_lr") {
                v = lrs;
            } else if (!legacy) {
                throw IOError(where + "missing 'scheduler." + k + "'");
            }
        }
    }
    for (const auto& [n, a] : arrays)
        if (n.rfind("scheduler.", 0) == 0 && n != "scheduler.type" && n != "scheduler.step_count" &&
            !sd.count(n.substr(std::string("scheduler.").size())))
            throw IOError(where + "'" + n + "' is not state of " + sched.name());
    try {
        sched.check_state_dict(sd);
    } catch (const Error& e) {
        throw IOError(where + e.what());
    }
    return sd;
}
}  // namespace

template <class T>
TrainState load_checkpoint(const std::string& path, nn::Module<T>& model, optim::Optimizer<T>& opt,
                           optim::lr_scheduler::Scheduler<T>* sched) {
    const Arrays arrays = io::load_npz(path);
    const auto m = index(arrays);
    check_no_unexpected("load_checkpoint", path, arrays, model);
    auto values = read_parameters("load_checkpoint", path, m, model);
    TrainState st;
    st.epoch = read_scalar<std::int64_t>(path, m, "epoch");
    st.scheduler_last_epoch = read_scalar<std::int64_t>(path, m, "scheduler.last_epoch");
    st.scheduler_step_count = read_scalar<std::int64_t>(path, m, "scheduler.step_count");
    if (st.epoch < 0 || st.scheduler_last_epoch < -1 || st.scheduler_step_count < 0)
        throw IOError("load_checkpoint: '" + path + "': expected epoch >= 0, scheduler.last_epoch >= -1 and "
                      "scheduler.step_count >= 0, found " + std::to_string(st.epoch) + ", " +
                      std::to_string(st.scheduler_last_epoch) + " and " + std::to_string(st.scheduler_step_count));
    auto rit = m.find("rng_state");
    if (rit == m.end()) throw IOError("load_checkpoint: '" + path + "': missing 'rng_state'");
    st.rng_state = array_to_rng(io::from_npy<std::uint64_t>(*rit->second, path + ":rng_state"));
    const auto osd = read_optimizer(path, arrays, m, model, opt);
    for (const auto& g : osd.param_groups) st.lrs.push_back(g.options.at("lr")[0]);
    for (const auto& [n, a] : arrays)
        if (n.rfind(kHistory, 0) == 0) {
            auto h = io::from_npy<double>(a, path + ":" + n);
            st.history[n.substr(kHistory.size())] = std::vector<double>(h.begin(), h.end());
        }
    st.settings = settings_of(arrays, path, "load_checkpoint");
    optim::lr_scheduler::SchedulerStateDict ssd;
    if (sched) ssd = read_scheduler(path, arrays, m, *sched, st.scheduler_last_epoch, st.scheduler_step_count, st.lrs);
    // everything read and checked: now change the model, the optimizer and the scheduler
    auto state = model_state(model);
    for (std::size_t i = 0; i < state.size(); ++i) state[i].second.mutable_value() = std::move(values[i]);
    opt.load_state_dict(osd);
    if (sched) sched->load_state_dict(ssd);
    return st;
}

namespace {
// A setting as the message shows it: long values (an encoder's JSON, say) by their first 40 bytes.
std::string shown(const std::string& flag, const std::string& value) {
    if (value.size() > 60) return flag + " " + value.substr(0, 40) + "... (" + std::to_string(value.size()) + " bytes)";
    return flag + " " + (value.empty() ? std::string("''") : value);
}
}  // namespace

std::map<std::string, std::string> load_settings(const std::string& path) {
    return settings_of(io::load_npz(path), path, "load_settings");
}

void check_same_settings(const std::map<std::string, std::string>& saved, const std::map<std::string, std::string>& now) {
    if (saved.empty()) return;  // a checkpoint from before settings were recorded: nothing to compare
    std::string diffs;
    auto add = [&](const std::string& d) { diffs += (diffs.empty() ? "" : "; ") + d; };
    for (const auto& [k, v] : saved) {
        auto it = now.find(k);
        if (it == now.end())
            add("the checkpoint was made with " + shown(k, v) + ", this run has no " + k);
        else if (it->second != v)
            add("the checkpoint was made with " + shown(k, v) + ", this run has " + shown(k, it->second));
    }
    for (const auto& [k, v] : now)
        if (!saved.count(k)) add("the checkpoint was made without " + k + ", this run has " + shown(k, v));
    if (!diffs.empty())
        throw ValueError("--resume: " + diffs + " (resume with the checkpoint's settings, or start a new run)");
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                 \
    template void save_model(const std::string&, const nn::Module<T>&);                                        \
    template void load_model(const std::string&, nn::Module<T>&);                                              \
    template void save_checkpoint(const std::string&, const nn::Module<T>&, const optim::Optimizer<T>&,                \
                                  const TrainState&, const optim::lr_scheduler::Scheduler<T>*);                      \
    template TrainState load_checkpoint(const std::string&, nn::Module<T>&, optim::Optimizer<T>&,                      \
                                        optim::lr_scheduler::Scheduler<T>*);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace train
}  // namespace tapegrad
