/*
 * Floating point with division and square root: a softened-gravity n-body
 * simulation of 32 bodies, symplectic Euler steps. Every pair interacts once
 * per step. The checksum is the bit pattern of the final positions and
 * velocities summed in a fixed order. n: time steps.
 */
#include "kernel.h"

#define BODIES 32

struct body {
    double x, y, z;
    double vx, vy, vz;
    double mass;
};

static struct body bodies[BODIES];

uint64_t run(uint32_t n)
{
    uint32_t s = 0x1b873593u;
    for (int i = 0; i < BODIES; i++) {
        double v[7];
        for (int k = 0; k < 7; k++) {
            s = kernel_xorshift32(s);
            v[k] = (double)(s >> 8) * (1.0 / 16777216.0); /* [0, 1) */
        }
        bodies[i].x = v[0] * 10.0 - 5.0;
        bodies[i].y = v[1] * 10.0 - 5.0;
        bodies[i].z = v[2] * 10.0 - 5.0;
        bodies[i].vx = v[3] - 0.5;
        bodies[i].vy = v[4] - 0.5;
        bodies[i].vz = v[5] - 0.5;
        bodies[i].mass = 0.5 + v[6];
    }

    const double dt = 0.001;
    const double soften = 0.01;
    for (uint32_t step = 0; step < n; step++) {
        for (int i = 0; i < BODIES; i++) {
            struct body *bi = &bodies[i];
            for (int j = i + 1; j < BODIES; j++) {
                struct body *bj = &bodies[j];
                double dx = bi->x - bj->x;
                double dy = bi->y - bj->y;
                double dz = bi->z - bj->z;
                double d2 = dx * dx + dy * dy + dz * dz + soften;
                double mag = dt / (d2 * __builtin_sqrt(d2));
                double mi = bi->mass * mag;
                double mj = bj->mass * mag;
                bi->vx -= dx * mj;
                bi->vy -= dy * mj;
                bi->vz -= dz * mj;
                bj->vx += dx * mi;
                bj->vy += dy * mi;
                bj->vz += dz * mi;
            }
        }
        for (int i = 0; i < BODIES; i++) {
            bodies[i].x += dt * bodies[i].vx;
            bodies[i].y += dt * bodies[i].vy;
            bodies[i].z += dt * bodies[i].vz;
        }
    }

    uint64_t sum = 0;
    for (int i = 0; i < BODIES; i++) {
        double t = bodies[i].x + bodies[i].y + bodies[i].z;
        double v = bodies[i].vx + bodies[i].vy + bodies[i].vz;
        sum = (sum ^ kernel_f64_bits(t)) * 0x100000001b3u;
        sum = (sum ^ kernel_f64_bits(v)) * 0x100000001b3u;
    }
    return sum;
}
