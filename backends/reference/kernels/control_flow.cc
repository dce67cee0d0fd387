// Control flow: If, Loop and Scan run their bodies through KernelContext::RunSubgraph, which
// gives each body the enclosing execution scope for its outer-scope reads.
#include <algorithm>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace graphopt::reference {
namespace {

const ir::Graph* GraphAttr(const ir::Node& node, const char* name) {
  const ir::Attribute* a = node.attr(name);
  return a && a->g ? a->g.get() : nullptr;
}

Tensor BoolScalar(bool v) {
  return Tensor::FromVector<uint8_t>(DataType::kBool, {}, {v ? uint8_t{1} : uint8_t{0}});
}
Tensor Int64Scalar(int64_t v) { return Tensor::FromVector<int64_t>(DataType::kInt64, {}, {v}); }

// An empty scan output ({0} + element shape) when a loop ran zero times: type and shape come
// from the body's declared output, unknown dims become 0-sized too.
Tensor EmptyStack(const ir::Value* body_output) {
  DataType type = DataType::kFloat;
  Shape shape = {0};
  if (body_output && body_output->type().is_tensor()) {
    if (body_output->elem_type() != DataType::kUndefined) type = body_output->elem_type();
    if (body_output->type().shape) {
      for (const ir::Dim& d : *body_output->type().shape) shape.push_back(d.known() ? d.value : 0);
    }
  }
  return Tensor(type, shape);
}

Status If(KernelContext& ctx) {
  const Tensor* cond = ctx.input(0);
  if (!cond || cond->size() != 1) return ctx.Fail("cond must hold one element");
  const bool taken = cond->GetDouble(0) != 0;
  const ir::Graph* branch = GraphAttr(ctx.node(), taken ? "then_branch" : "else_branch");
  if (!branch) return ctx.Fail("missing branch graph");
  ASSIGN_OR_RETURN(std::vector<Tensor> outs, ctx.RunSubgraph(*branch, {}));
  if (outs.size() != ctx.num_outputs()) {
    return ctx.Fail("branch returns " + std::to_string(outs.size()) + " values, the node has " +
                    std::to_string(ctx.num_outputs()) + " outputs");
  }
  for (size_t i = 0; i < outs.size(); ++i) ctx.SetOutput(i, std::move(outs[i]));
  return Status::Ok();
}

Status Loop(KernelContext& ctx) {
  const ir::Graph* body = GraphAttr(ctx.node(), "body");
  if (!body) return ctx.Fail("missing body graph");
  const Tensor* max_trips = ctx.input(0);
  const Tensor* cond_in = ctx.input(1);
  const size_t n_carried = ctx.num_inputs() >= 2 ? ctx.num_inputs() - 2 : 0;
  if (body->inputs().size() != n_carried + 2) {
    return ctx.Fail("body takes " + std::to_string(body->inputs().size()) +
                    " inputs, expected 2 + carried values");
  }
  if (body->outputs().size() < n_carried + 1) return ctx.Fail("body returns too few values");
  const size_t n_scan = body->outputs().size() - 1 - n_carried;
  if (ctx.num_outputs() != n_carried + n_scan) return ctx.Fail("output count does not match body");

  std::vector<Tensor> carried;
  for (size_t i = 0; i < n_carried; ++i) {
    if (!ctx.input(i + 2)) return ctx.Fail("loop-carried inputs must be given");
    carried.push_back(*ctx.input(i + 2));
  }
  const int64_t trips = max_trips && max_trips->size() > 0 ? max_trips->GetInt64(0) : -1;
  bool cond = cond_in && cond_in->size() > 0 ? cond_in->GetDouble(0) != 0 : true;
  std::vector<std::vector<Tensor>> scans(n_scan);
  std::vector<Tensor> args(n_carried + 2);
  for (int64_t iter = 0; (trips < 0 || iter < trips) && cond; ++iter) {
    args[0] = Int64Scalar(iter);
    args[1] = BoolScalar(cond);
    for (size_t i = 0; i < n_carried; ++i) args[i + 2] = std::move(carried[i]);
    ASSIGN_OR_RETURN(std::vector<Tensor> outs, ctx.RunSubgraph(*body, args));
    if (outs[0].size() != 1) return ctx.Fail("body condition must hold one element");
    cond = outs[0].GetDouble(0) != 0;
    for (size_t i = 0; i < n_carried; ++i) carried[i] = std::move(outs[1 + i]);
    for (size_t k = 0; k < n_scan; ++k) scans[k].push_back(std::move(outs[1 + n_carried + k]));
  }
  for (size_t i = 0; i < n_carried; ++i) ctx.SetOutput(i, std::move(carried[i]));
  for (size_t k = 0; k < n_scan; ++k) {
    Tensor stacked;
    if (scans[k].empty()) {
      stacked = EmptyStack(body->outputs()[1 + n_carried + k]);
    } else if (!StackTensors(scans[k], &stacked)) {
      return ctx.Fail("scan output " + std::to_string(k) + " changes shape between iterations");
    }
    ctx.SetOutput(n_carried + k, std::move(stacked));
  }
  return Status::Ok();
}

// Element t along `axis` with that axis removed.
Tensor SliceAlong(const Tensor& in, int64_t axis, int64_t t) {
  const auto strides = Strides(in.shape());
  std::vector<std::vector<int64_t>> offsets;
  Shape out_shape;
  for (size_t k = 0; k < in.shape().size(); ++k) {
    if (static_cast<int64_t>(k) == axis) continue;
    std::vector<int64_t> o(static_cast<size_t>(in.shape()[k]));
    for (int64_t i = 0; i < in.shape()[k]; ++i) o[static_cast<size_t>(i)] = i * strides[k];
    offsets.push_back(std::move(o));
    out_shape.push_back(in.shape()[k]);
  }
  std::vector<int64_t> index = OffsetTableIndex(offsets);
  const int64_t base = t * strides[static_cast<size_t>(axis)];
  for (int64_t& i : index) i += base;
  return GatherFlat(in, out_shape, index);
}

Status Scan(KernelContext& ctx) {
  const ir::Graph* body = GraphAttr(ctx.node(), "body");
  if (!body) return ctx.Fail("missing body graph");
  const ir::Node& node = ctx.node();
  const int64_t m = node.GetInt("num_scan_inputs", 0);
  const auto n_inputs = static_cast<int64_t>(ctx.num_inputs());
  if (m < 1 || m > n_inputs) return ctx.Fail("num_scan_inputs out of range");
  const int64_t n_state = n_inputs - m;
  const int64_t n_scan_out = static_cast<int64_t>(ctx.num_outputs()) - n_state;
  if (n_scan_out < 0) return ctx.Fail("fewer outputs than state variables");
  std::vector<int64_t> in_axes =
      node.GetInts("scan_input_axes", std::vector<int64_t>(static_cast<size_t>(m), 0));
  std::vector<int64_t> in_dirs =
      node.GetInts("scan_input_directions", std::vector<int64_t>(static_cast<size_t>(m), 0));
  std::vector<int64_t> out_axes =
      node.GetInts("scan_output_axes", std::vector<int64_t>(static_cast<size_t>(n_scan_out), 0));
  std::vector<int64_t> out_dirs = node.GetInts(
      "scan_output_directions", std::vector<int64_t>(static_cast<size_t>(n_scan_out), 0));
  if (static_cast<int64_t>(in_axes.size()) != m || static_cast<int64_t>(in_dirs.size()) != m ||
      static_cast<int64_t>(out_axes.size()) != n_scan_out ||
      static_cast<int64_t>(out_dirs.size()) != n_scan_out) {
    return ctx.Fail("scan axis/direction attributes have the wrong length");
  }
  int64_t length = -1;
  for (int64_t j = 0; j < m; ++j) {
    const Tensor* in = ctx.input(static_cast<size_t>(n_state + j));
    if (!in) return ctx.Fail("scan inputs must be given");
    int64_t& axis = in_axes[static_cast<size_t>(j)];
    if (!NormalizeAxis(axis, in->rank()) || axis >= in->rank())
      return ctx.Fail("scan input axis out of range");
    const int64_t len = in->shape()[static_cast<size_t>(axis)];
    if (length >= 0 && len != length) return ctx.Fail("scan inputs differ in sequence length");
    length = len;
  }
  std::vector<Tensor> state;
  for (int64_t i = 0; i < n_state; ++i) state.push_back(*ctx.input(static_cast<size_t>(i)));
  std::vector<std::vector<Tensor>> parts(static_cast<size_t>(n_scan_out));
  std::vector<Tensor> args(static_cast<size_t>(n_inputs));
  for (int64_t t = 0; t < length; ++t) {
    for (int64_t i = 0; i < n_state; ++i)
      args[static_cast<size_t>(i)] = std::move(state[static_cast<size_t>(i)]);
    for (int64_t j = 0; j < m; ++j) {
      const Tensor& in = *ctx.input(static_cast<size_t>(n_state + j));
      const int64_t step = in_dirs[static_cast<size_t>(j)] ? length - 1 - t : t;
      args[static_cast<size_t>(n_state + j)] =
          SliceAlong(in, in_axes[static_cast<size_t>(j)], step);
    }
    ASSIGN_OR_RETURN(std::vector<Tensor> outs, ctx.RunSubgraph(*body, args));
    if (static_cast<int64_t>(outs.size()) != n_state + n_scan_out) {
      return ctx.Fail("body output count does not match the node");
    }
    for (int64_t i = 0; i < n_state; ++i)
      state[static_cast<size_t>(i)] = std::move(outs[static_cast<size_t>(i)]);
    for (int64_t k = 0; k < n_scan_out; ++k) {
      parts[static_cast<size_t>(k)].push_back(std::move(outs[static_cast<size_t>(n_state + k)]));
    }
  }
  for (int64_t i = 0; i < n_state; ++i)
    ctx.SetOutput(static_cast<size_t>(i), std::move(state[static_cast<size_t>(i)]));
  for (int64_t k = 0; k < n_scan_out; ++k) {
    auto& p = parts[static_cast<size_t>(k)];
    if (out_dirs[static_cast<size_t>(k)]) std::reverse(p.begin(), p.end());
    Tensor stacked;
    if (p.empty()) {
      stacked = EmptyStack(body->outputs()[static_cast<size_t>(n_state + k)]);
    } else if (!StackTensors(p, &stacked)) {
      return ctx.Fail("scan output " + std::to_string(k) + " changes shape between iterations");
    }
    int64_t axis = out_axes[static_cast<size_t>(k)];
    if (!NormalizeAxis(axis, stacked.rank()) || axis >= stacked.rank()) {
      return ctx.Fail("scan output axis out of range");
    }
    if (axis != 0) {
      // Move the stacking axis 0 to `axis`.
      std::vector<int64_t> perm;
      for (int64_t a = 1; a < stacked.rank(); ++a) perm.push_back(a);
      perm.insert(perm.begin() + axis, 0);
      stacked = TransposeTensor(stacked, perm);
    }
    ctx.SetOutput(static_cast<size_t>(n_state + k), std::move(stacked));
  }
  return Status::Ok();
}

// Scan-8: every input carries a leading batch axis (scan inputs are [batch, seq, ...]); each
// batch entry is scanned on its own and the results are stacked back along the batch axis.
Status Scan8(KernelContext& ctx) {
  const ir::Graph* body = GraphAttr(ctx.node(), "body");
  if (!body) return ctx.Fail("missing body graph");
  const int64_t m = ctx.node().GetInt("num_scan_inputs", 0);
  const auto n_inputs = static_cast<int64_t>(ctx.num_inputs()) - 1;  // minus sequence_lens
  const int64_t n_state = n_inputs - m;
  const int64_t n_scan_out = static_cast<int64_t>(ctx.num_outputs()) - n_state;
  if (m < 1 || n_state < 0 || n_scan_out < 0) return ctx.Fail("bad input/output counts");
  const std::vector<int64_t> dirs =
      ctx.node().GetInts("directions", std::vector<int64_t>(static_cast<size_t>(m), 0));
  const Tensor* first_scan = ctx.input(static_cast<size_t>(1 + n_state));
  if (!first_scan || first_scan->rank() < 2)
    return ctx.Fail("scan inputs must be [batch, seq, ...]");
  const int64_t batch = first_scan->shape()[0], seq = first_scan->shape()[1];
  std::vector<std::vector<Tensor>> state_parts(static_cast<size_t>(n_state));
  std::vector<std::vector<Tensor>> scan_parts(static_cast<size_t>(n_scan_out));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = ctx.input(0) ? ctx.input(0)->GetInt64(b) : seq;
    if (len != seq) return ctx.Unsupported("sequence_lens shorter than the sequence");
    std::vector<Tensor> state;
    for (int64_t i = 0; i < n_state; ++i)
      state.push_back(SliceAlong(*ctx.input(static_cast<size_t>(1 + i)), 0, b));
    std::vector<Tensor> seqs;
    for (int64_t j = 0; j < m; ++j)
      seqs.push_back(SliceAlong(*ctx.input(static_cast<size_t>(1 + n_state + j)), 0, b));
    std::vector<std::vector<Tensor>> steps(static_cast<size_t>(n_scan_out));
    for (int64_t t = 0; t < len; ++t) {
      std::vector<Tensor> args = state;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t step = dirs[static_cast<size_t>(j)] ? len - 1 - t : t;
        args.push_back(SliceAlong(seqs[static_cast<size_t>(j)], 0, step));
      }
      ASSIGN_OR_RETURN(std::vector<Tensor> outs, ctx.RunSubgraph(*body, args));
      if (static_cast<int64_t>(outs.size()) != n_state + n_scan_out) {
        return ctx.Fail("body output count does not match the node");
      }
      for (int64_t i = 0; i < n_state; ++i)
        state[static_cast<size_t>(i)] = outs[static_cast<size_t>(i)];
      for (int64_t k = 0; k < n_scan_out; ++k)
        steps[static_cast<size_t>(k)].push_back(outs[static_cast<size_t>(n_state + k)]);
    }
    for (int64_t i = 0; i < n_state; ++i)
      state_parts[static_cast<size_t>(i)].push_back(state[static_cast<size_t>(i)]);
    for (int64_t k = 0; k < n_scan_out; ++k) {
      Tensor stacked;
      if (!StackTensors(steps[static_cast<size_t>(k)], &stacked))
        return ctx.Fail("scan output changes shape");
      scan_parts[static_cast<size_t>(k)].push_back(std::move(stacked));
    }
  }
  for (int64_t i = 0; i < n_state; ++i) {
    Tensor out;
    if (!StackTensors(state_parts[static_cast<size_t>(i)], &out))
      return ctx.Fail("state changes shape");
    ctx.SetOutput(static_cast<size_t>(i), std::move(out));
  }
  for (int64_t k = 0; k < n_scan_out; ++k) {
    Tensor out;
    if (!StackTensors(scan_parts[static_cast<size_t>(k)], &out))
      return ctx.Fail("scan output changes shape");
    ctx.SetOutput(static_cast<size_t>(n_state + k), std::move(out));
  }
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("", "If", 1, kLatestOpset, If);
REGISTER_KERNEL("", "Loop", 1, kLatestOpset, Loop);
REGISTER_KERNEL("", "Scan", 8, 8, Scan8);
REGISTER_KERNEL("", "Scan", 9, kLatestOpset, Scan);

}  // namespace graphopt::reference
